//! `shiplane env up | down | gc | list`: ephemeral environments, the instances of template
//! lanes (`template: true`). An instance lives under the template's `GitOps` path with `{name}`
//! replaced (`lanes/preview/pr-123/`): `release.json` (the release plus `instance` and
//! `expires_at`), `catalog.json` and `manifests/` rendered for the instance. The template's
//! `AppProject` and `ApplicationSet` live in `argocd/` next to the instances, and the
//! `ApplicationSet`'s git directory generator finds every instance by its directory.
//!
//! Names, paths and expiry are decided by `shiplane_lane::instance` (pure); this module reads
//! and writes the `GitOps` repository, one commit per command (none when nothing changes).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use shiplane_gitops::{ChangeSet, CommitMessage, EntryKind, GitopsError, Outcome};
use shiplane_intent::{EffectiveIntent, EffectiveLane};
use shiplane_lane::instance::{
    InstanceRelease, RESERVED_INSTANCE_NAMES, expires_at, instance_path, instance_root,
    invalid_instance_name, is_expired, template_argocd_dir, timestamp_text,
};
use shiplane_lane::{
    FORMAT_VERSION, Release, catalog_path, manifests_dir, release_id, release_path,
};
use shiplane_render::{ARGOCD_DIR, RenderRelease, render_lane};

use super::lanes::{
    Desired, Reader, actor_or_unknown, files_under, gitops_error, lane_change, now, open, pinned,
    write_mode_edits,
};
use super::promote::images_at_commit;
use crate::cli::{EnvDownArgs, EnvGcArgs, EnvUpArgs};
use crate::intent_file;
use crate::output::{CliError, ErrorKind, Output};

/// The template lane called `name`, refusing unknown lanes and lanes that are not templates.
fn template<'e>(eff: &'e EffectiveIntent, name: &str) -> Result<&'e EffectiveLane, CliError> {
    let templates: Vec<String> = eff
        .lanes
        .values()
        .filter(|l| l.template)
        .map(|l| l.name.clone())
        .collect();
    let help = if templates.is_empty() {
        "the intent has no template lane; add one with `template: true` and `{name}` in its namespace and gitops.path".to_owned()
    } else {
        format!("template lanes are: {}", templates.join(", "))
    };
    let lane = eff.lanes.get(name).ok_or_else(|| {
        CliError::new(
            ErrorKind::Invalid,
            format!("`{name}` is not a lane of the intent"),
        )
        .help(help.clone())
    })?;
    if !lane.template {
        return Err(CliError::new(
            ErrorKind::Invalid,
            format!(
                "lane `{name}` is not a template lane (`template: true`), so it has no environments"
            ),
        )
        .help(help));
    }
    Ok(lane)
}

fn check_name(name: &str) -> Result<(), CliError> {
    match invalid_instance_name(name) {
        Some(why) => Err(
            CliError::new(ErrorKind::Invalid, format!("environment name {why}"))
                .help("use a name like `pr-123`"),
        ),
        None => Ok(()),
    }
}

/// The directory holding the template's instances.
fn root(eff: &EffectiveIntent, lane: &EffectiveLane) -> Result<String, CliError> {
    instance_root(&lane.gitops.path, &eff.project)
        .map(|(root, _)| root)
        .ok_or_else(|| {
            CliError::new(
                ErrorKind::Invalid,
                format!(
                    "template lane `{}`: GitOps path `{}` must have `{{name}}` as a whole directory",
                    lane.name, lane.gitops.path
                ),
            )
            .help(format!("write `gitops: {{ path: \"lanes/{}/{{name}}\" }}`", lane.name))
        })
}

fn namespace(eff: &EffectiveIntent, lane: &EffectiveLane, name: &str) -> String {
    shiplane_intent::template::substitute(&lane.namespace, &|var| match var {
        "name" => Some(name.to_owned()),
        "project" => Some(eff.project.clone()),
        _ => None,
    })
}

fn read_instance(reader: &dyn Reader, path: &str) -> Result<Option<InstanceRelease>, CliError> {
    let file = release_path(path);
    let bytes = reader
        .read(&file)
        .map_err(|e| gitops_error("cannot read the environment's release", &e))?;
    bytes
        .map(|b| {
            InstanceRelease::parse(&file, &b)
                .map_err(|e| CliError::new(ErrorKind::Failure, e.to_string()))
        })
        .transpose()
}

fn committed(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Committed { commit, .. } => Some(commit.clone()),
        Outcome::NoChange => None,
    }
}

fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}

/// `shiplane env up NAME --template LANE --commit REV`.
pub fn up(args: &EnvUpArgs, intent: Option<&Path>, out: &Output) -> Result<ExitCode, CliError> {
    let (file, eff) = intent_file::load_valid(intent, out)?;
    check_name(&args.name)?;
    let lane = template(&eff, &args.template)?;
    let root = root(&eff, lane)?;
    let ttl = lane
        .ttl
        .as_deref()
        .map(shiplane_intent::values::duration)
        .transpose()
        .map_err(|e| {
            CliError::new(
                ErrorKind::Invalid,
                format!("template lane `{}`: ttl: {e}", lane.name),
            )
        })?;
    let mut repo = open(lane)?;
    let (source_commit, images) = images_at_commit(&file, &eff, lane, &args.commit)?;
    let id = release_id(
        &source_commit,
        images.iter().map(|(s, i)| (s.as_str(), i.digest.as_str())),
    );
    let path = instance_path(&lane.gitops.path, &eff.project, &args.name);
    let now = now();
    // The same release again keeps its record (and its expiry), so it makes no commit.
    let current = read_instance(&repo, &path)?.filter(|c| c.release.id == id);
    let (promoted_at, promoted_by, promoted_by_source, expires) = if let Some(c) = current {
        (
            c.release.promoted_at,
            c.release.promoted_by,
            c.release.promoted_by_source,
            c.expires_at,
        )
    } else {
        let who = actor_or_unknown();
        (
            timestamp_text(now),
            who.name,
            who.source,
            ttl.map(|t| expires_at(now, t)),
        )
    };
    let record = InstanceRelease {
        release: Release {
            release_format: FORMAT_VERSION,
            id: id.clone(),
            lane: lane.name.clone(),
            version: None,
            source_commit: source_commit.clone(),
            services: images,
            intent_hash: super::promote::intent_hash(&eff)?,
            approvals: Vec::new(),
            promoted_by,
            promoted_by_source,
            promoted_at,
            promoted_from: "commit".to_owned(),
            overrides: Vec::new(),
        },
        instance: args.name.clone(),
        expires_at: expires,
    };
    // A write-mode template (`helm-values`, `kustomize-images`) gets its image values set in
    // the instance's own file instead of rendered manifests and Argo CD objects.
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    files.insert(release_path(&path), record.to_bytes());
    files.insert(catalog_path(&path), record.release.catalog().to_bytes());
    let mut template_files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let desired =
        if let Some(edits) = write_mode_edits(&eff, lane, &path, &record.release.services)? {
            Desired {
                files,
                edits,
                owns_manifests: false,
            }
        } else {
            let render = RenderRelease {
                version: None,
                release_id: id.clone(),
                source_commit: source_commit.clone(),
                images: pinned(record.release.services.iter()),
                hibernated: false,
                instance: Some(args.name.clone()),
            };
            let rendered = render_lane(&eff, &lane.name, &render).map_err(|e| {
                CliError::new(
                    ErrorKind::Invalid,
                    format!(
                        "cannot render environment `{}` of `{}`: {e}",
                        args.name, lane.name
                    ),
                )
            })?;
            for (p, bytes) in rendered.manifests() {
                files.insert(format!("{}/{p}", manifests_dir(&path)), bytes.to_vec());
            }
            let argocd_dir = template_argocd_dir(&root);
            for (p, bytes) in rendered.argocd() {
                let rel = p.strip_prefix(&format!("{ARGOCD_DIR}/")).unwrap_or(p);
                template_files.insert(format!("{argocd_dir}/{rel}"), bytes.to_vec());
            }
            Desired::rendered(files)
        };

    let message = CommitMessage::new(format!(
        "Create environment {} from {}",
        args.name, lane.name
    ))
    .with_body(format!(
        "Release {id} from {source_commit}, expires {}.",
        record.expires_at.as_deref().unwrap_or("never")
    ))
    .with_trailer("Shiplane-Lane", &lane.name)
    .with_trailer("Shiplane-Environment", &args.name)
    .with_trailer("Shiplane-Release", &id)
    .with_trailer("Source-Commit", &source_commit);
    let outcome = repo
        .apply(
            &|view| -> Result<ChangeSet, GitopsError> {
                let mut change = lane_change(view, &path, &desired, None)?;
                for (p, bytes) in &template_files {
                    change.write(p.clone(), bytes.clone());
                }
                Ok(change)
            },
            &message,
        )
        .map_err(|e| gitops_error(&format!("creating environment `{}` failed", args.name), &e))?;
    let commit = committed(&outcome);
    let ns = namespace(&eff, lane, &args.name);
    if out.json {
        out.print_json(&serde_json::json!({
            "environment": args.name,
            "template": lane.name,
            "path": path,
            "namespace": ns,
            "release": id,
            "source_commit": source_commit,
            "expires_at": record.expires_at,
            "committed": commit.is_some(),
            "gitops_commit": commit,
        }));
    } else {
        match &commit {
            Some(c) => crate::outln!(
                "{} environment {} from {} (release {id}) in namespace {ns}, at {path}/, expires {} — {}",
                out.paint(Output::ok_style(), "✓"),
                args.name,
                lane.name,
                record.expires_at.as_deref().unwrap_or("never"),
                short(c)
            ),
            None => crate::outln!(
                "environment {} already runs release {id}: nothing changed, no commit",
                args.name
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One instance found in the `GitOps` repository.
struct Found {
    template: String,
    name: String,
    path: String,
    expires_at: Option<String>,
    release: Option<String>,
}

/// Every instance of template `lane`: a directory under its root whose `release.json` names
/// the template (directories without one are listed with no release).
fn instances(
    reader: &dyn Reader,
    eff: &EffectiveIntent,
    lane: &EffectiveLane,
) -> Result<Vec<Found>, CliError> {
    let root = root(eff, lane)?;
    let entries = reader
        .list(&root)
        .map_err(|e| gitops_error("cannot list the environments", &e))?;
    let mut found = Vec::new();
    for entry in entries {
        if !matches!(entry.kind, EntryKind::Dir)
            || RESERVED_INSTANCE_NAMES.contains(&entry.name.as_str())
        {
            continue;
        }
        let path = instance_path(&lane.gitops.path, &eff.project, &entry.name);
        let record = match read_instance(reader, &path) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                eprintln!("warning: skipping {path}: {}", e.message);
                continue;
            }
        };
        if record.release.lane != lane.name {
            continue;
        }
        found.push(Found {
            template: lane.name.clone(),
            name: entry.name,
            path,
            expires_at: record.expires_at,
            release: Some(record.release.id),
        });
    }
    Ok(found)
}

/// Deletes every file under each of `paths`; with `expired_at`, only the environments still
/// expired at that time in the tree being changed (one re-created meanwhile stays).
fn delete_dirs(
    view: &dyn Reader,
    paths: &[String],
    expired_at: Option<jiff::Timestamp>,
) -> Result<ChangeSet, GitopsError> {
    let mut change = ChangeSet::new();
    for p in paths {
        if let Some(at) = expired_at {
            let file = release_path(p);
            let still = view
                .read(&file)?
                .and_then(|b| InstanceRelease::parse(&file, &b).ok())
                .is_some_and(|r| is_expired(r.expires_at.as_deref(), at));
            if !still {
                continue;
            }
        }
        for f in files_under(view, p)? {
            change.delete(f);
        }
    }
    Ok(change)
}

/// `shiplane env down NAME [--template LANE]`.
pub fn down(args: &EnvDownArgs, intent: Option<&Path>, out: &Output) -> Result<ExitCode, CliError> {
    let (_, eff) = intent_file::load_valid(intent, out)?;
    check_name(&args.name)?;
    let lanes: Vec<&EffectiveLane> = match &args.template {
        Some(t) => vec![template(&eff, t)?],
        None => eff.lanes.values().filter(|l| l.template).collect(),
    };
    let mut hits = Vec::new();
    for lane in lanes {
        root(&eff, lane)?;
        let repo = open(lane)?;
        let path = instance_path(&lane.gitops.path, &eff.project, &args.name);
        let files = files_under(&repo, &path)
            .map_err(|e| gitops_error("cannot read the GitOps repository", &e))?;
        if !files.is_empty() {
            hits.push((lane, repo, path));
        }
    }
    if hits.len() > 1 {
        let names: Vec<&str> = hits.iter().map(|(l, _, _)| l.name.as_str()).collect();
        return Err(CliError::new(
            ErrorKind::Invalid,
            format!(
                "environment `{}` exists for several templates: {}",
                args.name,
                names.join(", ")
            ),
        )
        .help("say which with --template LANE"));
    }
    let Some((lane, mut repo, path)) = hits.pop() else {
        if out.json {
            out.print_json(&serde_json::json!({
                "environment": args.name, "template": args.template,
                "existed": false, "committed": false, "gitops_commit": null,
            }));
        } else {
            crate::outln!(
                "environment {} does not exist: nothing to delete, no commit",
                args.name
            );
        }
        return Ok(ExitCode::SUCCESS);
    };
    let message = CommitMessage::new(format!("Delete environment {} of {}", args.name, lane.name))
        .with_trailer("Shiplane-Lane", &lane.name)
        .with_trailer("Shiplane-Environment", &args.name);
    let paths = vec![path.clone()];
    let outcome = repo
        .apply(&|view| delete_dirs(view, &paths, None), &message)
        .map_err(|e| gitops_error(&format!("deleting environment `{}` failed", args.name), &e))?;
    let commit = committed(&outcome);
    if out.json {
        out.print_json(&serde_json::json!({
            "environment": args.name, "template": lane.name, "path": path,
            "existed": true, "committed": commit.is_some(), "gitops_commit": commit,
        }));
    } else {
        match &commit {
            Some(c) => crate::outln!(
                "{} deleted environment {} of {} ({path}/) in {}",
                out.paint(Output::ok_style(), "✓"),
                args.name,
                lane.name,
                short(c)
            ),
            None => crate::outln!("environment {} was already gone: no commit", args.name),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `shiplane env gc [--now RFC3339]`.
pub fn gc(args: &EnvGcArgs, intent: Option<&Path>, out: &Output) -> Result<ExitCode, CliError> {
    let (_, eff) = intent_file::load_valid(intent, out)?;
    let at = match &args.now {
        Some(t) => t.parse::<jiff::Timestamp>().map_err(|e| {
            CliError::new(ErrorKind::Invalid, format!("--now `{t}`: {e}"))
                .help("give an RFC 3339 time like 2026-11-22T19:00:00Z")
        })?,
        None => now(),
    };
    // Expired instances, grouped by GitOps repository and branch: one commit each.
    let mut groups: BTreeMap<(String, String), (&EffectiveLane, Vec<Found>)> = BTreeMap::new();
    for lane in eff.lanes.values().filter(|l| l.template) {
        let repo = open(lane)?;
        for f in instances(&repo, &eff, lane)? {
            if is_expired(f.expires_at.as_deref(), at) {
                let key = (
                    lane.gitops.repo.clone().unwrap_or_default(),
                    lane.gitops.branch.clone(),
                );
                groups
                    .entry(key)
                    .or_insert_with(|| (lane, Vec::new()))
                    .1
                    .push(f);
            }
        }
    }
    let mut removed = Vec::new();
    let mut commits = Vec::new();
    for (lane, found) in groups.into_values() {
        let mut message =
            CommitMessage::new(format!("Delete {} expired environment(s)", found.len())).with_body(
                found
                    .iter()
                    .map(|f| {
                        format!(
                            "{} of {} expired at {}",
                            f.name,
                            f.template,
                            f.expires_at.as_deref().unwrap_or("?")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        for f in &found {
            message = message.with_trailer("Shiplane-Environment", &f.name);
        }
        let paths: Vec<String> = found.iter().map(|f| f.path.clone()).collect();
        let outcome = open(lane)?
            .apply(&|view| delete_dirs(view, &paths, Some(at)), &message)
            .map_err(|e| gitops_error("deleting expired environments failed", &e))?;
        if let Some(c) = committed(&outcome) {
            commits.push(c);
            removed.extend(found);
        }
    }
    if out.json {
        out.print_json(&serde_json::json!({
            "now": timestamp_text(at),
            "removed": removed.iter().map(|f| serde_json::json!({
                "environment": f.name, "template": f.template, "path": f.path,
                "expires_at": f.expires_at, "release": f.release,
            })).collect::<Vec<_>>(),
            "committed": !commits.is_empty(),
            "gitops_commits": commits,
        }));
    } else if removed.is_empty() {
        crate::outln!(
            "no environment has expired at {}: nothing removed",
            timestamp_text(at)
        );
    } else {
        for f in &removed {
            crate::outln!(
                "{} removed environment {} of {} (expired {})",
                out.paint(Output::ok_style(), "✓"),
                f.name,
                f.template,
                f.expires_at.as_deref().unwrap_or("?")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `shiplane env list`.
pub fn list(intent: Option<&Path>, out: &Output) -> Result<ExitCode, CliError> {
    let (_, eff) = intent_file::load_valid(intent, out)?;
    let at = now();
    let mut all = Vec::new();
    for lane in eff.lanes.values().filter(|l| l.template) {
        let repo = open(lane)?;
        all.extend(instances(&repo, &eff, lane)?);
    }
    if out.json {
        out.print_json(&serde_json::json!({
            "environments": all.iter().map(|f| serde_json::json!({
                "environment": f.name, "template": f.template, "path": f.path,
                "expires_at": f.expires_at, "release": f.release,
                "expired": is_expired(f.expires_at.as_deref(), at),
            })).collect::<Vec<_>>(),
        }));
    } else if all.is_empty() {
        crate::outln!("no environments");
    } else {
        for f in &all {
            crate::outln!(
                "{:<24} {:<12} {:<26} expires {}{}",
                f.name,
                f.template,
                f.release.as_deref().unwrap_or("-"),
                f.expires_at.as_deref().unwrap_or("never"),
                if is_expired(f.expires_at.as_deref(), at) {
                    " (expired)"
                } else {
                    ""
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
