//! `shiplane publish SERVICE --image REPO:TAG`: waits until the registry serves the image,
//! resolves and verifies its digest, and records it in the artifact index for the service's
//! fingerprint at the commit — so `plan` reuses it instead of rebuilding, and CD never deploys a
//! tag CI has not pushed yet (the seeds' `ImagePullBackOff` outage).

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use shiplane_artifacts::{ArtifactRecord, ServiceIndex, index_path};
use shiplane_gitops::{ChangeSet, CommitMessage, GitopsRepo, Outcome, RetryPolicy};
use shiplane_registry::{Digest, Registry, RegistryError};

use crate::cli::PublishArgs;
use crate::intent_file;
use crate::output::{CliError, ErrorKind, Output};
use crate::planning::{fingerprints_at, source_repo};
use crate::registry;
use crate::support::{cache_dir, provenance, rfc3339_now};

pub fn run(args: &PublishArgs, intent: Option<&Path>, out: &Output) -> Result<ExitCode, CliError> {
    let (file, eff) = intent_file::load_valid(intent, out)?;
    if !eff.services.contains_key(&args.service) {
        return Err(CliError::new(
            ErrorKind::Invalid,
            format!("`{}` is not a service of {}", args.service, file.display),
        )
        .help(format!(
            "services are: {}",
            eff.services.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let wait = shiplane_intent::values::duration(&args.wait).map_err(|why| {
        CliError::new(ErrorKind::Invalid, format!("--wait `{}`: {why}", args.wait))
    })?;
    let index_location = eff.artifact_index.clone().ok_or_else(|| {
        CliError::new(
            ErrorKind::Invalid,
            "the intent names no GitOps repository to keep the artifact index in",
        )
        .help("set `defaults.gitops.repo` (and `branch`), or give the root lane a `gitops.repo`")
    })?;

    // 1. The fingerprint of the service at the commit, exactly as `plan` computes it.
    let repo = source_repo(&file)?;
    let rev = args.commit.as_deref().unwrap_or("HEAD");
    let (commit, fps) = fingerprints_at(&repo, rev, &eff)?;
    let fingerprint = *fps.get(&args.service).ok_or_else(|| {
        CliError::new(
            ErrorKind::Failure,
            format!("no fingerprint computed for `{}`", args.service),
        )
    })?;

    // 2. Wait for the image, resolve its digest and verify it by a HEAD on the digest.
    let opened = registry::open(&args.image)?;
    let repository = opened.location.repository().to_owned();
    let Some(tag) = opened.location.tag().map(str::to_owned) else {
        return Err(
            CliError::new(ErrorKind::Invalid, format!("`{}` has no tag", args.image)).help(
                "publish the exact tag CI pushed, like `registry.example.com/shop/api:sha-1a2b3c4`",
            ),
        );
    };
    let image_without_tag = args
        .image
        .strip_suffix(&format!(":{tag}"))
        .unwrap_or(&args.image)
        .to_owned();
    let digest = registry::block_on(async {
        let digest = wait_for(
            opened.registry.as_ref(),
            &repository,
            &tag,
            &args.image,
            Duration::from_secs(wait),
            out,
        )
        .await?;
        match opened.registry.head_digest(&repository, &digest).await {
            Ok(Some(_)) => Ok(digest),
            Ok(None) => Err(CliError::new(
                ErrorKind::Failure,
                format!(
                    "{} resolved to {digest}, but a HEAD on that digest finds nothing",
                    args.image
                ),
            )
            .help("the tag moved or the registry is inconsistent; run publish again")),
            Err(e) => Err(registry::registry_error(e)),
        }
    })??;

    // 3. Record it in the artifact index, one commit (none if it is already recorded).
    let record = ArtifactRecord {
        repository: image_without_tag.clone(),
        tag: tag.clone(),
        digest: digest.to_string(),
        source_commit: commit.to_hex(),
        time: rfc3339_now(),
        provenance: provenance(),
    };
    let fp_hex = fingerprint.to_hex();
    let service = args.service.clone();
    let path = index_path(&service);
    let gitops = GitopsRepo::open(&index_location.repo, &index_location.branch, &cache_dir().join("gitops"))
        .map_err(|e| CliError::new(ErrorKind::Failure, e.to_string()).help("check that the GitOps repository is reachable and the credentials (SHIPLANE_GIT_TOKEN) are set"))?;
    // Publishes from a CI matrix arrive together and all write to one branch: each lost race
    // costs one attempt, so allow as many attempts as a wide matrix needs.
    let mut gitops = gitops.with_retry_policy(RetryPolicy {
        max_attempts: 30,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_secs(2),
        total_timeout: Duration::from_mins(3),
    });
    let message = CommitMessage::new(format!(
        "Record {service} {} for fingerprint {}",
        short_digest(&record.digest),
        fingerprint.short()
    ))
    .with_body(format!(
        "{image_without_tag}:{tag} built from {}",
        commit.to_hex()
    ))
    .with_trailer("Shiplane-Service", &service)
    .with_trailer("Shiplane-Fingerprint", &fp_hex)
    .with_trailer("Source-Commit", commit.to_hex());
    let outcome = gitops
        .apply(
            &|view| -> Result<ChangeSet, shiplane_gitops::Source> {
                let current = view.read_file(&path)?;
                let mut index = ServiceIndex::parse(&service, current.as_deref())?;
                Ok(if index.record(&fp_hex, record.clone()) {
                    ChangeSet::new().with_write(path.clone(), index.to_bytes())
                } else {
                    ChangeSet::new()
                })
            },
            &message,
        )
        .map_err(|e| {
            CliError::new(
                ErrorKind::Failure,
                format!("recording the artifact failed: {e}"),
            )
        })?;
    let gitops_commit = match &outcome {
        Outcome::Committed { commit, .. } => Some(commit.clone()),
        Outcome::NoChange => None,
    };

    if out.json {
        out.print_json(&serde_json::json!({
            "service": service,
            "fingerprint": fp_hex,
            "image": image_without_tag,
            "tag": tag,
            "digest": record.digest,
            "source_commit": record.source_commit,
            "recorded": gitops_commit.is_some(),
            "gitops_commit": gitops_commit,
        }));
    } else {
        let what = if gitops_commit.is_some() {
            "recorded"
        } else {
            "already recorded"
        };
        crate::outln!(
            "{} {service} {what}: {}:{tag} = {} (fingerprint {})",
            out.paint(Output::ok_style(), "✓"),
            image_without_tag,
            record.digest,
            fingerprint.short()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn short_digest(d: &str) -> &str {
    d.get(..19).unwrap_or(d)
}

/// Polls the registry until it serves `repo:tag`, with jittered exponential backoff bounded by
/// `limit`. "Not there yet" and transient failures keep waiting; refusals (401, 403, a bad
/// reference) end at once, because waiting cannot fix them.
async fn wait_for(
    registry: &dyn Registry,
    repository: &str,
    tag: &str,
    reference: &str,
    limit: Duration,
    out: &Output,
) -> Result<Digest, CliError> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(200);
    let mut attempts = 0u32;
    let mut announced = false;
    loop {
        attempts += 1;
        let last = match registry.resolve(repository, tag).await {
            Ok(d) => {
                if announced && !out.json {
                    eprintln!(
                        "  {reference} is there after {:.1}s",
                        start.elapsed().as_secs_f64()
                    );
                }
                return Ok(d);
            }
            Err(e) if matches!(e, RegistryError::NotFound { .. }) || e.is_retryable() => e,
            Err(e) => return Err(registry::registry_error(e)),
        };
        let elapsed = start.elapsed();
        if elapsed >= limit {
            return Err(CliError::new(
                ErrorKind::Failure,
                format!(
                    "{reference} did not appear within {}s: asked {attempts} times over {:.1}s; the last answer was: {last}",
                    limit.as_secs(),
                    elapsed.as_secs_f64()
                ),
            )
            .help("check that CI pushed exactly this tag to this registry, or allow longer with --wait"));
        }
        if !announced && !out.json {
            eprintln!(
                "waiting for {reference} to appear in the registry (up to {}s)…",
                limit.as_secs()
            );
            announced = true;
        }
        let remaining = limit.saturating_sub(elapsed);
        tokio::time::sleep(jittered(delay).min(remaining)).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// `d` plus up to 50% jitter, so many publishers do not poll in step.
fn jittered(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    let max_extra = u32::try_from(d.as_millis() / 2).unwrap_or(0).max(1);
    d + Duration::from_millis(u64::from(nanos % max_extra))
}
