//! `shiplane registry gc [--service S] [--execute]`: registry retention that never deletes what
//! a lane runs or may roll back to (SPEC §7).
//!
//! The adapter around the pure decision in `shiplane_retention`: it reads the references (every
//! lane's current release and rollback window from the `GitOps` history, ephemeral instances,
//! the artifact index), lists the repositories the intent's services live in, and either prints
//! the plan (the default) or deletes. Before deleting in a repository it lists that repository
//! again and then, before each batch of deletions, reads the references again, and skips any
//! digest that gained a tag or a reference in the meantime (`execute` says why in that order).
//! A `release.json` it cannot read stops it before anything is deleted. Every deletion is
//! appended to `registry/audit.jsonl` in the `GitOps` repository of the artifact index.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use shiplane_artifacts::{ServiceIndex, index_path};
use shiplane_gitops::{ChangeSet, CommitMessage, EntryKind, GitopsRepo, Outcome};
use shiplane_intent::model::Retention;
use shiplane_intent::values::duration;
use shiplane_intent::{EffectiveIntent, EffectiveLane};
use shiplane_lane::instance::{
    InstanceRelease, RESERVED_INSTANCE_NAMES, instance_path, instance_root,
};
use shiplane_lane::release_path;
use shiplane_registry::{
    DEFAULT_CONCURRENCY, Digest, Manifest, Registry, RegistryError, TaggedManifest, created_at,
    tagged_manifests,
};
use shiplane_retention::{
    Action, CompiledRules, GcPlan, HistoryCommit, Protected, Protection, Reason, RepoListing,
    Rules, TagInfo, landed_since, plan, recheck, rollback_window,
};

use super::lane_images::{lane_repository, lane_tags_literal};
use super::lanes::{actor_or_unknown, gitops_error, history, now, open, read_release, release_at};
use crate::cli::RegistryGcArgs;
use crate::intent_file;
use crate::output::{CliError, ErrorKind, Output};
use crate::registry::{Stores, block_on, registry_error};
use crate::support::cache_dir;

/// Where deletions are recorded, in the artifact index's `GitOps` repository.
pub const AUDIT_LOG: &str = "registry/audit.jsonl";

/// Releases per lane kept for rollback besides the current one, when the intent does not say.
const DEFAULT_ROLLBACK_WINDOW: u32 = 5;

/// Digests deleted per reference read: the references are read again before each batch, so
/// the deletions of one batch (a few requests) are the only window in which a promotion can
/// land unseen (see `execute`).
const DELETE_BATCH: usize = 16;

/// Repositories listed at once (each with `DEFAULT_CONCURRENCY` tag resolutions in flight).
const REPOSITORIES_AT_ONCE: usize = 4;

/// A repository to look at and the service whose rules apply to it.
struct Target {
    service: String,
    store: Arc<dyn Registry>,
    /// The name inside the store.
    name: String,
}

pub fn run(
    args: &RegistryGcArgs,
    intent: Option<&Path>,
    out: &Output,
) -> Result<ExitCode, CliError> {
    let (_file, eff) = intent_file::load_valid(intent, out)?;
    if eff.retention == Retention::default() {
        return Err(CliError::new(
            ErrorKind::Invalid,
            "the intent has no `retention` rules, so nothing can be judged old",
        )
        .help("add for example:\n  retention:\n    keep_newest: 15\n    keep_tags: [\"*-latest\"]\n    grace: 7d\n    rollback_window: 5"));
    }
    let services = selected_services(&eff, &args.service)?;
    let now_ts = now();
    let now = now_ts.as_second();

    // 1. What must survive whatever the rules say, and when each digest was recorded.
    let index_repo = open_index(&eff)?;
    let recorded = recorded_artifacts(&index_repo, &services)?;
    let rules = compile_rules(&eff, &services)?;
    let (protected, baseline) =
        protections(&eff, &services, &recorded, &rules, &index_repo, now, None)?;

    // 2. The repositories: where each lane deploys the service, where it was published, and
    //    where current releases point.
    let mut stores = Stores::default();
    let mut targets: BTreeMap<String, Target> = BTreeMap::new();
    for (service, repository) in repositories(&eff, &services, &recorded) {
        let (store, name) = stores.repository(&repository)?;
        targets.entry(repository).or_insert(Target {
            service,
            store,
            name,
        });
    }

    // 3. List them (tags, digests, times) and decide.
    let needs_time = rules
        .values()
        .any(|r| r.rules().keep_newest.is_some() || r.rules().grace_seconds.is_some());
    let listed = block_on(list_all(&targets, &recorded.times, needs_time))??;
    let listings: Vec<RepoListing> = listed.iter().filter_map(|(_, l)| l.clone()).collect();
    let gc = plan(
        &listings,
        &|repository| &rules[&targets[repository].service],
        &protected,
        now,
    );

    let mut report = Report {
        dry_run: !args.execute,
        repositories: listed
            .iter()
            .map(|(repo, l)| RepoSummary {
                repository: repo.clone(),
                service: targets[repo].service.clone(),
                exists: l.is_some(),
                tags: l.as_ref().map_or(0, |l| l.tags.len()),
            })
            .collect(),
        plan: gc,
        deletions: Vec::new(),
        audit_commits: Vec::new(),
    };
    if args.execute {
        let sources = Sources {
            eff: &eff,
            services: &services,
            rules: &rules,
            baseline: &baseline,
        };
        let result = execute(&sources, &targets, &mut report, index_repo);
        print(out, &report);
        result?;
    } else {
        print(out, &report);
    }
    Ok(ExitCode::SUCCESS)
}

/// The services asked for (all by default), refusing unknown names.
fn selected_services(eff: &EffectiveIntent, asked: &[String]) -> Result<Vec<String>, CliError> {
    if asked.is_empty() {
        return Ok(eff.services.keys().cloned().collect());
    }
    let mut out = BTreeSet::new();
    for s in asked {
        if !eff.services.contains_key(s) {
            return Err(CliError::new(
                ErrorKind::Invalid,
                format!("`{s}` is not a service of the intent"),
            )
            .help(format!(
                "services are: {}",
                eff.services.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        out.insert(s.clone());
    }
    Ok(out.into_iter().collect())
}

fn open_index(eff: &EffectiveIntent) -> Result<GitopsRepo, CliError> {
    let location = eff.artifact_index.clone().ok_or_else(|| {
        CliError::new(
            ErrorKind::Invalid,
            "the intent names no GitOps repository (for the artifact index and the audit log)",
        )
        .help("set `defaults.gitops.repo`")
    })?;
    GitopsRepo::open(
        &location.repo,
        &location.branch,
        &cache_dir().join("gitops"),
    )
    .map_err(|e| gitops_error("cannot read the artifact index", &e))
}

/// What the artifact index says about the selected services.
struct Recorded {
    /// (service, repository, digest, recorded at) for every record.
    records: Vec<(String, String, String, Option<i64>)>,
    /// Digest → the newest time it was recorded.
    times: BTreeMap<String, i64>,
}

fn recorded_artifacts(index: &GitopsRepo, services: &[String]) -> Result<Recorded, CliError> {
    let mut records = Vec::new();
    let mut times: BTreeMap<String, i64> = BTreeMap::new();
    for s in services {
        let bytes = index
            .read_file(&index_path(s))
            .map_err(|e| gitops_error("cannot read the artifact index", &e))?;
        let idx = ServiceIndex::parse(s, bytes.as_deref())
            .map_err(|e| CliError::new(ErrorKind::Failure, e.to_string()))?;
        for r in idx.digests() {
            let at = r
                .time
                .parse::<jiff::Timestamp>()
                .ok()
                .map(jiff::Timestamp::as_second);
            if let Some(t) = at {
                let e = times.entry(r.digest.clone()).or_insert(t);
                *e = (*e).max(t);
            }
            records.push((s.clone(), r.repository.clone(), r.digest.clone(), at));
        }
    }
    Ok(Recorded { records, times })
}

/// Per service, the intent's retention with the service's override applied, plus the literal
/// tags of every lane that deploys it.
fn compile_rules(
    eff: &EffectiveIntent,
    services: &[String],
) -> Result<BTreeMap<String, CompiledRules>, CliError> {
    let r = &eff.retention;
    let grace = |text: Option<&String>, field: &str| -> Result<Option<i64>, CliError> {
        text.map(|g| {
            duration(g)
                .map(|s| i64::try_from(s).unwrap_or(i64::MAX))
                .map_err(|e| CliError::new(ErrorKind::Invalid, format!("{field}: {e}")))
        })
        .transpose()
    };
    let mut out = BTreeMap::new();
    for s in services {
        let o = r.services.get(s);
        let lane_tags = eff
            .lanes
            .values()
            .filter(|l| l.services.contains(s))
            .flat_map(|l| {
                lane_tags_literal(l)
                    .into_iter()
                    .map(|t| (l.name.clone(), t))
                    .collect::<Vec<_>>()
            })
            .collect();
        let rules = Rules {
            keep_newest: o.and_then(|o| o.keep_newest).or(r.keep_newest),
            keep_tags: o
                .and_then(|o| o.keep_tags.clone())
                .unwrap_or_else(|| r.keep_tags.clone()),
            keep_semver: r.keep_semver.unwrap_or(false),
            grace_seconds: match o.and_then(|o| o.grace.as_ref()) {
                Some(g) => grace(Some(g), &format!("retention.services.{s}.grace"))?,
                None => grace(r.grace.as_ref(), "retention.grace")?,
            },
            lane_tags,
        };
        let compiled = rules.compile().map_err(|e| {
            CliError::new(
                ErrorKind::Invalid,
                format!("retention rules for `{s}`: {e}"),
            )
        })?;
        out.insert(s.clone(), compiled);
    }
    Ok(out)
}

/// The commits of every lane's release history as read when gc started, by lane: a release
/// committed later is one gc could not have seen when it planned, and is kept (see
/// [`landed_since`]).
#[derive(Default)]
struct Baseline(BTreeMap<String, BTreeSet<String>>);

/// Why a release's digests are kept.
#[derive(Clone, Copy)]
enum Kept {
    Current,
    Window,
    PromotedDuringRun,
}

/// Every digest that must be kept: the current release and the last `rollback_window` distinct
/// releases of every lane, every release committed since `baseline` (when given), ephemeral
/// instances' releases, and artifacts recorded within the grace period. Also returns the
/// lanes' history commits as read now, the baseline of later reads.
///
/// A `release.json` that cannot be read or parsed stops gc: without it gc cannot know what the
/// lane runs, and guessing would delete it.
fn protections(
    eff: &EffectiveIntent,
    services: &[String],
    recorded: &Recorded,
    rules: &BTreeMap<String, CompiledRules>,
    index: &GitopsRepo,
    now: i64,
    baseline: Option<&Baseline>,
) -> Result<(Protected, Baseline), CliError> {
    let window = eff
        .retention
        .rollback_window
        .unwrap_or(DEFAULT_ROLLBACK_WINDOW) as usize;
    let mut protected = Protected::new();
    let mut seen = Baseline::default();
    let mut add_release = |lane: &str, release: &shiplane_lane::Release, kept: Kept| {
        for (service, image) in &release.services {
            if services.contains(service) {
                let (lane, id) = (lane.to_owned(), release.id.clone());
                let protection = match kept {
                    Kept::Current | Kept::Window => Protection::Release {
                        lane,
                        release: id,
                        current: matches!(kept, Kept::Current),
                    },
                    Kept::PromotedDuringRun => Protection::PromotedDuringRun { lane, release: id },
                };
                protected.add(image.digest.clone(), protection);
            }
        }
    };
    // Lanes usually share one GitOps repository, most often the artifact index's (fetched
    // already): open and fetch each other repository once.
    let mut repos: BTreeMap<(Option<String>, String), GitopsRepo> = BTreeMap::new();
    let no_commits = BTreeSet::new();
    for lane in eff.lanes.values() {
        let key = (lane.gitops.repo.clone(), lane.gitops.branch.clone());
        let repo = if key.0.as_deref() == Some(index.remote()) && key.1 == index.branch() {
            index
        } else {
            if !repos.contains_key(&key) {
                repos.insert(key.clone(), open(lane)?);
            }
            &repos[&key]
        };
        if lane.template {
            for (name, release) in instance_releases(repo, eff, lane)? {
                add_release(&format!("{}/{name}", lane.name), &release, Kept::Current);
            }
            continue;
        }
        let current = read_release(repo, lane).map_err(|e| unreadable_release(lane, &e))?;
        if let Some(current) = &current {
            add_release(&lane.name, current, Kept::Current);
        }
        let entries = history(repo, lane)?;
        let commits: Vec<HistoryCommit<'_>> = entries
            .iter()
            .map(|(entry, _)| HistoryCommit {
                commit: &entry.commit,
                release: &entry.release,
            })
            .collect();
        let current_id = current.as_ref().map(|r| r.id.as_str());
        let mut past: Vec<(HistoryCommit<'_>, Kept)> =
            rollback_window(&commits, current_id, window)
                .into_iter()
                .map(|c| (c, Kept::Window))
                .collect();
        if let Some(baseline) = baseline {
            let known = baseline.0.get(&lane.name).unwrap_or(&no_commits);
            past.extend(
                landed_since(&commits, known)
                    .into_iter()
                    .map(|c| (c, Kept::PromotedDuringRun)),
            );
        }
        for (commit, kept) in past {
            let release = release_at(repo, lane, commit.commit)
                .map_err(|e| unreadable_release(lane, &e).help(format!(
                    "registry gc reads the release.json of lane `{}` at GitOps commit {} to know what a rollback would restore; restore that file's history or set a smaller `retention.rollback_window`",
                    lane.name, commit.commit
                )))?;
            add_release(&lane.name, &release, kept);
        }
        seen.0.insert(
            lane.name.clone(),
            commits.iter().map(|c| c.commit.to_owned()).collect(),
        );
    }
    for (service, _, digest, at) in &recorded.records {
        let grace = rules[service].rules().grace_seconds;
        if let (Some(grace), Some(at)) = (grace, at)
            && now - at < grace
        {
            protected.add(
                digest.clone(),
                Protection::YoungArtifact {
                    service: service.clone(),
                    recorded_at: *at,
                },
            );
        }
    }
    Ok((protected, seen))
}

/// A lane's `release.json` that cannot be read: the error names the file; gc stops.
fn unreadable_release(lane: &EffectiveLane, e: &CliError) -> CliError {
    let message = format!("registry gc stopped, nothing was deleted: {}", e.message);
    CliError::new(ErrorKind::Failure, message).help(format!(
        "without it registry gc cannot know what lane `{}` runs; restore the file (git log -- {}) and run again",
        lane.name,
        release_path(&lane.gitops.path)
    ))
}

/// The current release of every instance of template `lane` (ephemeral environments).
///
/// Unlike `env list`, which skips an instance it cannot read with a warning, gc stops: the
/// instance may run any image, and deleting it is not something to warn about afterwards.
fn instance_releases(
    repo: &GitopsRepo,
    eff: &EffectiveIntent,
    lane: &EffectiveLane,
) -> Result<Vec<(String, shiplane_lane::Release)>, CliError> {
    let Some((root, _)) = instance_root(&lane.gitops.path, &eff.project) else {
        return Err(CliError::new(
            ErrorKind::Invalid,
            format!(
                "template lane `{}`: GitOps path `{}` must have `{{name}}` as a whole directory",
                lane.name, lane.gitops.path
            ),
        ));
    };
    let entries = repo
        .list_dir(&root)
        .map_err(|e| gitops_error("cannot list the environments", &e))?;
    let mut out = Vec::new();
    for entry in entries {
        if !matches!(entry.kind, EntryKind::Dir)
            || RESERVED_INSTANCE_NAMES.contains(&entry.name.as_str())
        {
            continue;
        }
        let path = release_path(&instance_path(&lane.gitops.path, &eff.project, &entry.name));
        let stop = |message: String| {
            CliError::new(
                ErrorKind::Failure,
                format!("registry gc stopped, nothing was deleted: {message}"),
            )
            .help(format!(
                "without it registry gc cannot know what environment `{}` of `{}` runs; restore the file or remove the environment (`shiplane env down {}`), then run again",
                entry.name, lane.name, entry.name
            ))
        };
        let bytes = repo
            .read_file(&path)
            .map_err(|e| stop(gitops_error(&format!("cannot read {path}"), &e).message))?;
        let Some(bytes) = bytes else { continue };
        let record = InstanceRelease::parse(&path, &bytes).map_err(|e| stop(e.to_string()))?;
        out.push((entry.name, record.release));
    }
    Ok(out)
}

/// (service, repository) pairs to list, without duplicates.
fn repositories(
    eff: &EffectiveIntent,
    services: &[String],
    recorded: &Recorded,
) -> BTreeSet<(String, String)> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let lanes: Vec<&EffectiveLane> = eff.lanes.values().collect();
    for s in services {
        for lane in &lanes {
            if lane.services.contains(s)
                && let Some(repo) = lane_repository(lane, s)
            {
                seen.entry(repo).or_insert_with(|| s.clone());
            }
        }
    }
    for (s, repo, _, _) in &recorded.records {
        seen.entry(repo.clone()).or_insert_with(|| s.clone());
    }
    seen.into_iter().map(|(r, s)| (s, r)).collect()
}

/// Lists every target; `None` for a repository that does not exist.
async fn list_all(
    targets: &BTreeMap<String, Target>,
    recorded_times: &BTreeMap<String, i64>,
    needs_time: bool,
) -> Result<Vec<(String, Option<RepoListing>)>, CliError> {
    stream::iter(targets.iter())
        .map(|(repository, t)| async move {
            let listing = list_one(repository, t, recorded_times, needs_time).await?;
            Ok::<_, CliError>((repository.clone(), listing))
        })
        .buffered(REPOSITORIES_AT_ONCE)
        .try_collect()
        .await
}

async fn list_one(
    repository: &str,
    t: &Target,
    recorded_times: &BTreeMap<String, i64>,
    needs_time: bool,
) -> Result<Option<RepoListing>, CliError> {
    let Some(tags) = tagged_manifests(t.store.as_ref(), &t.name, DEFAULT_CONCURRENCY, needs_time)
        .await
        .map_err(|e| listing_error(repository, e))?
    else {
        return Ok(None);
    };
    let mut times = BTreeMap::new();
    if needs_time {
        // The image's own creation time, for digests the artifact index does not date; it
        // never changes for a digest, so it is cached.
        let unknown: BTreeMap<&Digest, &Manifest> = tags
            .iter()
            .filter(|t| !recorded_times.contains_key(t.digest.as_str()))
            .filter_map(|t| Some((&t.digest, t.manifest.as_ref()?)))
            .collect();
        let found: Vec<(String, Option<i64>)> = stream::iter(unknown)
            .map(|(d, m)| async move {
                let at = image_time(t, m).await?;
                Ok::<_, CliError>((d.to_string(), at))
            })
            .buffer_unordered(DEFAULT_CONCURRENCY)
            .try_collect()
            .await?;
        times.extend(found);
    }
    Ok(Some(listing(repository, tags, &|digest| {
        recorded_times
            .get(digest)
            .copied()
            .or_else(|| times.get(digest).copied().flatten())
    })))
}

/// A registry's answer as the retention planner's input, each tag dated by `time_of(digest)`.
fn listing(
    repository: &str,
    tags: Vec<TaggedManifest>,
    time_of: &dyn Fn(&str) -> Option<i64>,
) -> RepoListing {
    RepoListing {
        repository: repository.to_owned(),
        tags: tags
            .into_iter()
            .map(|TaggedManifest { tag, digest, .. }| TagInfo {
                time: time_of(digest.as_str()),
                tag,
                digest: digest.to_string(),
            })
            .collect(),
    }
}

/// The `created` time of an image, from the on-disk cache or the registry.
async fn image_time(t: &Target, manifest: &Manifest) -> Result<Option<i64>, CliError> {
    let cache = cache_dir()
        .join("image-created")
        .join(manifest.digest.hex());
    let text = if let Ok(text) = std::fs::read_to_string(&cache) {
        text
    } else {
        let created = created_at(t.store.as_ref(), &t.name, manifest)
            .await
            .map_err(registry_error)?
            .unwrap_or_default();
        if let Some(dir) = cache.parent()
            && std::fs::create_dir_all(dir).is_ok()
        {
            // A cache: losing a write only costs a request next time.
            let _ = std::fs::write(&cache, &created);
        }
        created
    };
    Ok(text
        .trim()
        .parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_second))
}

fn listing_error(repository: &str, e: RegistryError) -> CliError {
    let refused = matches!(
        e,
        RegistryError::Unauthorized { .. } | RegistryError::Forbidden { .. }
    );
    let err = registry_error(e);
    let message = format!("cannot list the tags of {repository}: {}", err.message);
    let help = if refused {
        err.help.unwrap_or_default()
    } else {
        "registry gc needs the registry to list tags (GET /v2/<name>/tags/list) and resolve them; it never guesses what a repository holds".to_owned()
    };
    CliError::new(ErrorKind::Failure, message).help(help)
}

/// One repository in the report.
#[derive(serde::Serialize)]
struct RepoSummary {
    repository: String,
    service: String,
    exists: bool,
    tags: usize,
}

/// One digest the plan deletes, and what happened to it.
#[derive(serde::Serialize)]
struct Deletion {
    repository: String,
    digest: String,
    tags: Vec<String>,
    /// `deleted`, or `skipped` with `why`.
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<String>,
}

struct Report {
    dry_run: bool,
    repositories: Vec<RepoSummary>,
    plan: GcPlan,
    deletions: Vec<Deletion>,
    audit_commits: Vec<String>,
}

/// What `execute` reads the references with, again and again.
struct Sources<'a> {
    eff: &'a EffectiveIntent,
    services: &'a [String],
    rules: &'a BTreeMap<String, CompiledRules>,
    /// The lanes' history commits when the plan was made.
    baseline: &'a Baseline,
}

impl Sources<'_> {
    /// The references as they are now: fetch the `GitOps` repositories, read every lane's
    /// current release, rollback window and releases committed since the plan, the instances
    /// and the artifact index.
    fn read(&self, index_repo: &mut GitopsRepo) -> Result<Protected, CliError> {
        index_repo
            .fetch()
            .map_err(|e| gitops_error("cannot read the artifact index", &e))?;
        let recorded = recorded_artifacts(index_repo, self.services)?;
        let (protected, _) = protections(
            self.eff,
            self.services,
            &recorded,
            self.rules,
            index_repo,
            now().as_second(),
            Some(self.baseline),
        )?;
        Ok(protected)
    }
}

/// Deletes what the plan says may go, repository by repository, then records the deletions in
/// the audit log (one commit per repository).
///
/// Why this order is safe. A promotion makes its `GitOps` commit before it moves lane tags,
/// and a lane runs what its committed `release.json` says, so the commit is the moment a digest
/// becomes "what runs". For each repository gc first lists it again, and only then, for every
/// batch of `DELETE_BATCH` digests, fetches the `GitOps` repositories and reads the references,
/// then checks and deletes that batch at once. A promotion committed before that read is in
/// it (as the lane's current release, or as a release committed since the plan when it was
/// already replaced), so its digest is skipped whatever the listing shows; one committed
/// after the read began after the listing too, so no ordering of the two reads can hide it —
/// the listing is never the only witness. (Reading the references first and listing after,
/// as gc once did, lost a promotion landing between the two reads: the references predated
/// it and its lane tags, moved after its commit, were not listed yet.) What no order can
/// close is a promotion that commits after the last read while the batch is being deleted:
/// the batch keeps that window to a few requests, and the references are read once more
/// after the last batch, so such a loss stops gc with an error instead of passing unseen.
fn execute(
    sources: &Sources<'_>,
    targets: &BTreeMap<String, Target>,
    report: &mut Report,
    mut index_repo: GitopsRepo,
) -> Result<(), CliError> {
    let mut planned: BTreeMap<String, Vec<(String, Vec<String>)>> = BTreeMap::new();
    for (repository, digest, tags) in report.plan.deletions() {
        planned.entry(repository.to_owned()).or_default().push((
            digest.to_owned(),
            tags.into_iter().map(str::to_owned).collect(),
        ));
    }
    let who = actor_or_unknown().name;
    for (repository, digests) in planned {
        let target = &targets[&repository];
        // 1. The repository as it is now: tags pushed onto a planned digest since the plan.
        let fresh = block_on(async {
            tagged_manifests(
                target.store.as_ref(),
                &target.name,
                DEFAULT_CONCURRENCY,
                false,
            )
            .await
        })?
        .map_err(|e| listing_error(&repository, e))?
        .unwrap_or_default();
        // `recheck` compares tags and digests only; times do not matter there.
        let fresh = listing(&repository, fresh, &|_| None);
        let mut done: Vec<(String, Vec<String>)> = Vec::new();
        let mut failure = None;
        'batches: for batch in digests.chunks(DELETE_BATCH) {
            // 2. After the listing, the references as they are now (see above for why this
            //    order). A failure to read them stops before this batch's deletions.
            let protected = match sources.read(&mut index_repo) {
                Ok(p) => p,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            // 3. Nothing but the checks between that read and the deletions.
            for (digest, tags) in batch {
                let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
                if let Err(refusal) = recheck(digest, &tag_refs, &fresh, &protected) {
                    report.deletions.push(Deletion {
                        repository: repository.clone(),
                        digest: digest.clone(),
                        tags: tags.clone(),
                        outcome: "skipped",
                        why: Some(refusal.to_string()),
                    });
                    continue;
                }
                let deleted = Digest::parse(digest)
                    .map_err(registry_error)
                    .and_then(|parsed| {
                        block_on(async {
                            target.store.delete_manifest(&target.name, &parsed).await
                        })
                    });
                match deleted {
                    Ok(Ok(()) | Err(RegistryError::NotFound { .. })) => {
                        done.push((digest.clone(), tags.clone()));
                        report.deletions.push(Deletion {
                            repository: repository.clone(),
                            digest: digest.clone(),
                            tags: tags.clone(),
                            outcome: "deleted",
                            why: None,
                        });
                    }
                    Ok(Err(e)) => {
                        failure = Some(delete_error(&repository, digest, e));
                        break 'batches;
                    }
                    Err(e) => {
                        failure = Some(e);
                        break 'batches;
                    }
                }
            }
        }
        // Record what was deleted even when a later step failed.
        if !done.is_empty() {
            let commit = audit(&mut index_repo, &repository, &done, &who)?;
            report.audit_commits.extend(commit);
        }
        if let Some(f) = failure {
            return Err(f);
        }
        if !done.is_empty() {
            lost_in_flight(&repository, &done, &sources.read(&mut index_repo)?)?;
        }
    }
    Ok(())
}

/// Fails when a digest deleted from `repository` is referenced now: a promotion committed
/// between the last reference read and its deletion (the window no order closes).
fn lost_in_flight(
    repository: &str,
    done: &[(String, Vec<String>)],
    protected: &Protected,
) -> Result<(), CliError> {
    let lost: Vec<String> = done
        .iter()
        .filter(|(digest, _)| protected.contains(digest))
        .map(|(digest, _)| {
            let why: Vec<String> = protected
                .of(digest)
                .iter()
                .map(ToString::to_string)
                .collect();
            format!("{repository}@{digest} ({})", why.join("; "))
        })
        .collect();
    if lost.is_empty() {
        return Ok(());
    }
    Err(CliError::new(
        ErrorKind::Failure,
        format!(
            "deleted while a promotion referencing it landed: {}",
            lost.join(", ")
        ),
    )
    .help("its blobs stay until the registry's own garbage collection runs: push the image again from its source (or copy it from another lane's registry) before running that"))
}

fn delete_error(repository: &str, digest: &str, e: RegistryError) -> CliError {
    let unsupported = matches!(&e, RegistryError::DeleteUnsupported { .. });
    let err = registry_error(e);
    let help = if unsupported {
        "nothing more was deleted; enable deletion (distribution: REGISTRY_STORAGE_DELETE_ENABLED=true) and run again".to_owned()
    } else {
        err.help.unwrap_or_else(|| {
            "deletions made before this one are in the audit log; run the same command again to go on".to_owned()
        })
    };
    CliError::new(
        ErrorKind::Failure,
        format!("deleting {repository}@{digest} failed: {}", err.message),
    )
    .help(help)
}

/// Appends one line per deleted tag to the audit log, in one commit.
fn audit(
    repo: &mut GitopsRepo,
    repository: &str,
    done: &[(String, Vec<String>)],
    who: &str,
) -> Result<Option<String>, CliError> {
    let time = super::lanes::now_text(now());
    let mut lines = String::new();
    for (digest, tags) in done {
        for tag in tags {
            let line = serde_json::json!({
                "time": time,
                "actor": who,
                "repository": repository,
                "tag": tag,
                "digest": digest,
            });
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
    }
    let count: usize = done.iter().map(|(_, t)| t.len()).sum();
    let message = CommitMessage::new(format!(
        "Registry gc: delete {count} tag(s) from {repository}"
    ))
    .with_trailer("Shiplane-Registry-Gc", repository)
    .with_trailer("Deleted-By", who);
    let outcome = repo
        .apply(
            &|view| -> Result<ChangeSet, shiplane_gitops::GitopsError> {
                let mut bytes = view.read_file(AUDIT_LOG)?.unwrap_or_default();
                bytes.extend_from_slice(lines.as_bytes());
                Ok(ChangeSet::new().with_write(AUDIT_LOG, bytes))
            },
            &message,
        )
        .map_err(|e| {
            gitops_error(
                &format!("the deletions in {repository} were made but recording them in {AUDIT_LOG} failed"),
                &e,
            )
        })?;
    Ok(match outcome {
        Outcome::Committed { commit, .. } => Some(commit),
        Outcome::NoChange => None,
    })
}

/// The reasons of a decision in a table cell: the lanes that reference the digest folded into
/// two phrases ("runs in dev, prod", "rollback window of dev"), then the other reasons. The
/// JSON output keeps every reason as it is.
fn short_why(reasons: &[Reason]) -> String {
    let mut running = BTreeSet::new();
    let mut window = BTreeSet::new();
    let mut rest = Vec::new();
    for r in reasons {
        match r {
            Reason::Protected(Protection::Release { lane, current, .. }) => {
                if *current {
                    running.insert(lane.as_str());
                } else {
                    window.insert(lane.as_str());
                }
            }
            other => rest.push(other.to_string()),
        }
    }
    let window: Vec<&str> = window.difference(&running).copied().collect();
    let mut parts = Vec::new();
    if !running.is_empty() {
        parts.push(format!(
            "runs in {}",
            running.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if !window.is_empty() {
        parts.push(format!("rollback window of {}", window.join(", ")));
    }
    parts.extend(rest);
    parts.join("; ")
}

fn print(out: &Output, report: &Report) {
    let plan = &report.plan;
    let digests = plan.deletions().count();
    if out.json {
        out.print_json(&serde_json::json!({
            "dry_run": report.dry_run,
            "repositories": report.repositories,
            "decisions": plan.decisions.iter().map(|d| serde_json::json!({
                "repository": d.repository,
                "tag": d.tag,
                "digest": d.digest,
                "action": d.action.to_string(),
                "reasons": d.reasons.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "kept": plan.kept(),
            "deleted": plan.deleted(),
            "digests_to_delete": digests,
            "deletions": report.deletions,
            "audit_commits": report.audit_commits,
        }));
        return;
    }
    for r in report.repositories.iter().filter(|r| !r.exists) {
        crate::outln!("{}: no such repository (nothing pushed yet)", r.repository);
    }
    if !plan.decisions.is_empty() {
        let width = plan
            .decisions
            .iter()
            .map(|d| d.repository.len() + d.tag.len() + 1)
            .max()
            .unwrap_or(0);
        crate::outln!(
            "{:<width$}  {:<19}  {:<6}  WHY",
            "IMAGE",
            "DIGEST",
            "ACTION"
        );
        for d in &plan.decisions {
            // Pad before painting: colour codes would count as width.
            let action = match d.action {
                Action::Keep => out.paint(Output::ok_style(), "keep  "),
                Action::Delete => out.paint(Output::warn_style(), "delete"),
            };
            let why = short_why(&d.reasons);
            crate::outln!(
                "{:<width$}  {:<19}  {action}  {}",
                format!("{}:{}", d.repository, d.tag),
                d.digest.get(..19).unwrap_or(&d.digest),
                why
            );
        }
    }
    crate::outln!(
        "{} tag(s) in {} repositories: {} kept, {} to delete ({} digest(s))",
        plan.decisions.len(),
        report.repositories.iter().filter(|r| r.exists).count(),
        plan.kept(),
        plan.deleted(),
        digests
    );
    if report.dry_run {
        crate::outln!("dry run: nothing was changed; `shiplane registry gc --execute` deletes");
        return;
    }
    let deleted = report
        .deletions
        .iter()
        .filter(|d| d.outcome == "deleted")
        .count();
    for d in report.deletions.iter().filter(|d| d.outcome == "skipped") {
        crate::outln!(
            "skipped {}@{}: {}",
            d.repository,
            d.digest,
            d.why.as_deref().unwrap_or_default()
        );
    }
    match report.audit_commits.last() {
        Some(c) if deleted > 0 => crate::outln!(
            "deleted {deleted} digest(s); recorded in {AUDIT_LOG} ({})",
            c.get(..12).unwrap_or(c)
        ),
        _ => crate::outln!("deleted nothing"),
    }
}
