//! The registry side of a promotion (SPEC §7): images are copied into the lane's registry when
//! it differs from where they were published, and the lane's extra tags (`dev-latest`, `prod`,
//! `{version}`) are put on the promoted manifests.
//!
//! Copies happen before the `GitOps` commit, because the lane's catalog names the copies and
//! must never point at an image that is not there. Tags happen after it: a tag follows what the
//! lane runs, so it moves only once the promotion has landed, and a promotion run again puts
//! back a tag that did not get through.

use std::collections::BTreeMap;

use shiplane_intent::EffectiveLane;
use shiplane_intent::effective::lane_var;
use shiplane_intent::template;
use shiplane_lane::{Release, ReleaseImage};
use shiplane_registry::{Digest, Reference, RepoRef, copy_image, retag};

use crate::output::{CliError, ErrorKind};
use crate::registry::{Stores, block_on, registry_error};

/// Substitutes the lane's variables in `text`; `None` when a hole is left (a template lane's
/// `{name}` before an instance exists).
fn lane_text(
    lane: &EffectiveLane,
    text: &str,
    extra: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let out = template::substitute(text, &|var| {
        extra(var).or_else(|| lane_var(&lane.name, &lane.namespace, &lane.vars, var))
    });
    match template::holes(&out) {
        Ok(h) if h.is_empty() => Some(out),
        Ok(_) => None,
        Err(_) => Some(out),
    }
}

/// The repository `lane` deploys `service` from: `{registry}/{service}` with the lane's
/// registry, or `None` when the lane names none.
pub(super) fn lane_repository(lane: &EffectiveLane, service: &str) -> Option<String> {
    let registry = lane_text(lane, lane.registry.as_deref()?, &|_| None)?;
    // `oci-layout:DIR` alone has no repository prefix: the service is the repository.
    if let Some(rest) = registry.strip_prefix(shiplane_registry::reference::OCI_LAYOUT_PREFIX)
        && !rest.contains(':')
    {
        return Some(format!("{registry}:{service}"));
    }
    Some(format!("{}/{service}", registry.trim_end_matches('/')))
}

/// The lane's tags that name one tag whatever the release (`dev-latest`, `prod`): the moving
/// tags registry retention keeps by name. Tags with `{version}` or the commit differ per release.
pub(super) fn lane_tags_literal(lane: &EffectiveLane) -> Vec<String> {
    lane.tags
        .iter()
        .filter_map(|t| lane_text(lane, t, &|_| None))
        .collect()
}

/// One image to copy into the lane's registry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(super) struct Placement {
    pub service: String,
    pub from: String,
    pub to: String,
    pub digest: String,
}

/// The copies that put every image of `images` into the lane's registry (none when the lane
/// names no registry, or the image is already there).
pub(super) fn placements(
    lane: &EffectiveLane,
    images: &BTreeMap<String, ReleaseImage>,
) -> Vec<Placement> {
    images
        .iter()
        .filter_map(|(service, image)| {
            let to = lane_repository(lane, service)?;
            (to != image.repository).then(|| Placement {
                service: service.clone(),
                from: image.repository.clone(),
                to,
                digest: image.digest.clone(),
            })
        })
        .collect()
}

/// Performs `placements` (digest-preserving: manifest, an index's children and every blob,
/// skipping what the destination has) and returns `images` pointing at the copies.
pub(super) fn place(
    placements: &[Placement],
    images: &BTreeMap<String, ReleaseImage>,
    stores: &mut Stores,
) -> Result<BTreeMap<String, ReleaseImage>, CliError> {
    let mut out = images.clone();
    if placements.is_empty() {
        return Ok(out);
    }
    let mut jobs = Vec::new();
    for p in placements {
        let (src, src_repo) = stores.repository(&p.from)?;
        let (dst, dst_repo) = stores.repository(&p.to)?;
        let digest = Digest::parse(&p.digest).map_err(registry_error)?;
        jobs.push((p, src, src_repo, dst, dst_repo, digest));
    }
    block_on(async {
        for (p, src, src_repo, dst, dst_repo, digest) in &jobs {
            let reference = Reference::Digest(digest.clone());
            copy_image(
                src.as_ref(),
                &RepoRef::new(src_repo.clone(), reference.clone()),
                dst.as_ref(),
                &RepoRef::new(dst_repo.clone(), reference),
            )
            .await
            .map_err(|e| {
                CliError::new(
                    ErrorKind::Failure,
                    format!(
                        "copying {}@{} to the lane's registry ({}) failed: {e}",
                        p.from, p.digest, p.to
                    ),
                )
                .help("nothing was committed; fix access to both registries and promote again (copies already made are reused)")
            })?;
        }
        Ok::<(), CliError>(())
    })??;
    for p in placements {
        if let Some(image) = out.get_mut(&p.service) {
            image.copied_from = Some(image.repository.clone());
            image.repository.clone_from(&p.to);
        }
    }
    Ok(out)
}

/// Checks that the registry serves every image of `images` by digest (a HEAD on the manifest),
/// so a release is committed only when what it names exists: an image deleted after it was
/// published (by hand, or by another tool's cleanup) refuses the promotion before anything
/// lands. Every missing image is named at once.
pub(super) fn verify_present(
    images: &BTreeMap<String, ReleaseImage>,
    stores: &mut Stores,
) -> Result<(), CliError> {
    let mut jobs = Vec::new();
    for (service, image) in images {
        let (store, repo) = stores.repository(&image.repository)?;
        let digest = Digest::parse(&image.digest).map_err(registry_error)?;
        jobs.push((service, image, store, repo, digest));
    }
    let missing = block_on(async {
        let mut missing = Vec::new();
        for (service, image, store, repo, digest) in &jobs {
            match store.head_digest(repo, digest).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    missing.push(format!("{service}: {}@{}", image.repository, image.digest));
                }
                Err(e) => {
                    return Err(CliError::new(
                        ErrorKind::Failure,
                        format!(
                            "cannot check that {}@{} ({service}) exists: {e}",
                            image.repository, image.digest
                        ),
                    )
                    .help("nothing was committed; fix access to the registry and promote again"));
                }
            }
        }
        Ok(missing)
    })??;
    if missing.is_empty() {
        return Ok(());
    }
    Err(CliError::new(
        ErrorKind::Failure,
        format!(
            "{} image(s) of the release are missing from their registry:\n  {}",
            missing.len(),
            missing.join("\n  ")
        ),
    )
    .help("nothing was committed; push and `shiplane publish` the service again (or promote a release whose images exist)"))
}

/// One lane tag to put on a promoted image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(super) struct LaneTag {
    pub service: String,
    pub repository: String,
    pub tag: String,
    pub digest: String,
    /// Whether the tag was written (false: it already pointed there, or this is a dry run).
    pub moved: bool,
}

/// The lane's tags for `release`, with `{version}`, `{commit.short}`, `{commit.sha}` and the
/// lane's variables filled in. A tag that needs a version the release does not have is a
/// usage error: the intent asks for something this lane cannot give.
pub(super) fn lane_tags(lane: &EffectiveLane, release: &Release) -> Result<Vec<LaneTag>, CliError> {
    let mut out = Vec::new();
    for text in &lane.tags {
        let tag = lane_text(lane, text, &|var| match var {
            "version" => release.version.clone(),
            "commit.short" => release.source_commit.get(..7).map(str::to_owned),
            "commit.sha" => Some(release.source_commit.clone()),
            _ => None,
        })
        .ok_or_else(|| {
            CliError::new(
                ErrorKind::Invalid,
                format!(
                    "lane `{}` tag `{text}` has a variable this release cannot fill",
                    lane.name
                ),
            )
            .help("`{version}` needs the lane to have `version:`; other variables come from the lane's `vars`")
        })?;
        Reference::parse(&tag).map_err(|e| {
            CliError::new(
                ErrorKind::Invalid,
                format!("lane `{}` tag `{text}` gives `{tag}`: {e}", lane.name),
            )
        })?;
        for (service, image) in &release.services {
            if !lane.services.contains(service) {
                continue;
            }
            out.push(LaneTag {
                service: service.clone(),
                repository: image.repository.clone(),
                tag: tag.clone(),
                digest: image.digest.clone(),
                moved: false,
            });
        }
    }
    Ok(out)
}

/// [`lane_tags`], or none when the lane's `require_tag_on` branch does not hold the source
/// commit (or that could not be checked): a tag like `prod` must only ever follow the
/// protected branch.
pub(super) fn lane_tags_on_branch(
    lane: &EffectiveLane,
    release: &Release,
    on_required_branch: Option<&Result<bool, String>>,
) -> Result<Vec<LaneTag>, CliError> {
    if matches!(on_required_branch, Some(Ok(false) | Err(_))) {
        return Ok(Vec::new());
    }
    lane_tags(lane, release)
}

/// Puts each tag on its image, skipping tags that already point there.
pub(super) fn apply_tags(tags: &mut [LaneTag], stores: &mut Stores) -> Result<(), CliError> {
    let mut jobs = Vec::new();
    for t in tags.iter() {
        let (store, repo) = stores.repository(&t.repository)?;
        let digest = Digest::parse(&t.digest).map_err(registry_error)?;
        jobs.push((store, repo, digest));
    }
    let moved = block_on(async {
        let mut moved = Vec::new();
        for ((store, repo, digest), t) in jobs.iter().zip(tags.iter()) {
            let m = retag(store.as_ref(), repo, digest, &t.tag)
                .await
                .map_err(|e| {
                    CliError::new(
                        ErrorKind::Failure,
                        format!("tagging {}@{} as `{}` failed: {e}", t.repository, t.digest, t.tag),
                    )
                    .help("the promotion itself landed; run the same promote again to put the tags back")
                })?;
            moved.push(m);
        }
        Ok::<_, CliError>(moved)
    })??;
    for (t, m) in tags.iter_mut().zip(moved) {
        t.moved = m;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(registry: Option<&str>, tags: &[&str]) -> EffectiveLane {
        let yaml = format!(
            "version: 1\nproject: shop\ndefaults:\n  gitops: {{ repo: \"file:///tmp/g\" }}\nservices:\n  api: {{ paths: [\"api/**\"] }}\nlanes:\n  prod:\n    version: patch\n    vars: {{ project: prod }}\n{}    tags: [{}]\n",
            registry.map_or(String::new(), |r| format!("    registry: \"{r}\"\n")),
            tags.iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let parsed = shiplane_intent::load_str(&yaml);
        parsed.effective.expect("valid intent").lanes["prod"].clone()
    }

    fn image(repository: &str) -> ReleaseImage {
        ReleaseImage {
            repository: repository.to_owned(),
            tag: "sha-1".to_owned(),
            digest: format!("sha256:{}", "a".repeat(64)),
            fingerprint: "f".to_owned(),
            source_commit: "c".repeat(40),
            status: shiplane_lane::ImageStatus::Published,
            reused_from: None,
            copied_from: None,
        }
    }

    #[test]
    fn copies_only_when_the_lane_registry_differs() {
        let l = lane(Some("reg.example.com/{lane.project}"), &[]);
        assert_eq!(
            lane_repository(&l, "api").as_deref(),
            Some("reg.example.com/prod/api")
        );
        let mut images = BTreeMap::new();
        images.insert("api".to_owned(), image("reg.example.com/dev/api"));
        let p = placements(&l, &images);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].from, "reg.example.com/dev/api");
        assert_eq!(p[0].to, "reg.example.com/prod/api");
        images.insert("api".to_owned(), image("reg.example.com/prod/api"));
        assert!(placements(&l, &images).is_empty());
        assert!(placements(&lane(None, &[]), &images).is_empty());
        assert_eq!(
            lane_repository(&lane(Some("oci-layout:/srv/images"), &[]), "api").as_deref(),
            Some("oci-layout:/srv/images:api")
        );
        assert_eq!(
            lane_repository(&lane(Some("oci-layout:/srv/images:team"), &[]), "api").as_deref(),
            Some("oci-layout:/srv/images:team/api")
        );
    }

    #[test]
    fn tags_fill_version_and_commit() {
        let l = lane(None, &["prod", "{version}", "sha-{commit.short}"]);
        let mut services = BTreeMap::new();
        services.insert("api".to_owned(), image("reg.example.com/prod/api"));
        let release = Release {
            release_format: 1,
            id: "r".to_owned(),
            lane: "prod".to_owned(),
            version: Some("1.2.3".to_owned()),
            source_commit: "0123456789".repeat(4),
            services,
            intent_hash: String::new(),
            approvals: Vec::new(),
            promoted_by: "me".to_owned(),
            promoted_by_source: shiplane_lane::IdentitySource::Env,
            promoted_at: "2026-01-01T00:00:00Z".to_owned(),
            promoted_from: "commit".to_owned(),
            overrides: Vec::new(),
        };
        let tags: Vec<String> = lane_tags(&l, &release)
            .unwrap()
            .into_iter()
            .map(|t| t.tag)
            .collect();
        assert_eq!(tags, ["prod", "1.2.3", "sha-0123456"]);
        let release_v = release.clone();
        let unversioned = Release {
            version: None,
            ..release
        };
        let err = lane_tags(&l, &unversioned).unwrap_err();
        assert!(err.message.contains("{version}"), "{}", err.message);
        // `require_tag_on`: tags only when the branch holds the commit.
        let on = |b: Option<Result<bool, String>>| {
            lane_tags_on_branch(&l, &release_v, b.as_ref())
                .unwrap()
                .len()
        };
        assert_eq!(on(None), 3);
        assert_eq!(on(Some(Ok(true))), 3);
        assert_eq!(on(Some(Ok(false))), 0);
        assert_eq!(on(Some(Err("no branch".to_owned()))), 0);
    }
}
