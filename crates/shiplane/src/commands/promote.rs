//! `shiplane promote LANE (--commit REV | --from LANE | --release ID)`: gathers the release and
//! the facts the policy needs, lets `shiplane_lane::evaluate` decide, and writes the lane's
//! release, catalog and manifests to the `GitOps` repository in one commit (none when nothing
//! changed). Refusals exit 3 and say what is missing and how to get it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use sha2::{Digest as _, Sha256};
use shiplane_artifacts::{ServiceIndex, index_path};
use shiplane_gitops::{CommitMessage, GitopsRepo, Outcome};
use shiplane_intent::{EffectiveIntent, EffectiveLane};
use shiplane_lane::{
    Approval, ImageStatus, LaneState, PolicyInput, Refusal, Release, ReleaseImage, Version,
    evaluate, release_id, release_path, state_path,
};
use shiplane_notify::{Delivery, Event, EventKind, Link, ServiceImage};
use shiplane_plan::{Oid, render_tag};

use super::lane_images;
use super::lanes::{
    actor, desired_files, gitops_error, history, lane, lane_change, now, now_text, open,
    read_release, read_state, release_at, summarize,
};
use crate::cli::PromoteArgs;
use crate::intent_file::{self, IntentFile};
use crate::output::{CliError, EXIT_FAILURE, EXIT_INVALID, EXIT_POLICY, Output};
use crate::planning::source_repo;
use crate::registry::Stores;
use crate::support::{cache_dir, provenance};

/// A release before policy: where it came from and what it deploys.
struct Candidate {
    source_commit: String,
    images: BTreeMap<String, ReleaseImage>,
    /// `None` when made from a commit.
    source_lane: Option<String>,
    promoted_from: String,
}

pub fn run(args: &PromoteArgs, intent: Option<&Path>, out: &Output) -> Result<ExitCode, CliError> {
    crate::support::timing("start");
    let (file, eff) = intent_file::load_valid(intent, out)?;
    crate::support::timing("intent loaded");
    let lane = lane(&eff, &args.lane)?;
    if (args.override_freeze || args.override_hold)
        && args.reason.as_deref().is_none_or(|r| r.trim().is_empty())
    {
        return Err(
            CliError::new(EXIT_INVALID, "an override needs --reason TEXT")
                .help("the reason is recorded in the release for the audit trail"),
        );
    }
    if args.version.is_some() && lane.version.is_none() {
        return Err(CliError::new(
            EXIT_INVALID,
            format!(
                "lane `{}` is not versioned, so --version does not apply",
                lane.name
            ),
        )
        .help("give the lane `version: patch|minor|major` in the intent"));
    }
    if let Some(v) = &args.version {
        Version::parse(v).map_err(|e| CliError::new(EXIT_INVALID, format!("--version: {e}")))?;
    }
    let actor = actor();
    if args.approve && actor.is_none() {
        return Err(
            CliError::new(EXIT_INVALID, "--approve needs to know who you are")
                .help("set SHIPLANE_ACTOR (or git's user.name)"),
        );
    }
    let actor_name = actor.clone().unwrap_or_else(|| "unknown".to_owned());

    let mut repo = open(lane)?;
    let candidate = candidate(args, &file, &eff, lane, &repo)?;
    crate::support::timing("candidate");
    let id = release_id(
        &candidate.source_commit,
        candidate
            .images
            .iter()
            .map(|(s, i)| (s.as_str(), i.digest.as_str())),
    );
    let current = read_release(&repo, lane)?;
    let state = read_state(&repo, lane)?;
    // The same release again: re-render it (the intent may have changed) under hold and freeze
    // only; it was admitted by the other rules when it entered the lane, so the facts those
    // rules need (the lane's and the upstream lane's history) are not read.
    let same = current.as_ref().filter(|c| c.id == id).cloned();
    let lane_history = match same {
        Some(_) => Vec::new(),
        None => history(&repo, lane)?,
    };
    let now = now();
    let at = now_text(now);

    // Facts for the policy.
    let upstream_history: Vec<String> = match lane.from.as_ref().filter(|_| same.is_none()) {
        Some(up) => {
            let up_lane = &eff.lanes[up];
            let up_repo = open(up_lane)?;
            history(&up_repo, up_lane)?
                .into_iter()
                .map(|(e, _)| e.release)
                .collect()
        }
        None => Vec::new(),
    };
    let on_required_branch = lane
        .require_tag_on
        .as_ref()
        .map(|branch| on_branch(&file, &candidate.source_commit, branch));
    let earlier_versions: Vec<Version> = lane_history
        .iter()
        .filter_map(|(e, _)| e.version.as_deref().and_then(|v| Version::parse(v).ok()))
        .collect();
    let mut approvals: Vec<Approval> = state
        .pending_approvals
        .get(&id)
        .cloned()
        .unwrap_or_default();
    let mut approved_now = false;
    if let Some(me) = actor.as_ref().filter(|_| args.approve)
        && !approvals.iter().any(|a| &a.by == me)
    {
        approvals.push(Approval {
            by: me.clone(),
            at: at.clone(),
        });
        approved_now = true;
    }
    crate::support::timing("facts");
    let zones = |name: &str| jiff::tz::TimeZone::get(name).ok();
    let reason = args.reason.as_deref();

    let stripped;
    let policy_lane = if same.is_some() {
        stripped = EffectiveLane {
            from: None,
            approvals: 0,
            version: None,
            require_tag_on: None,
            ..lane.clone()
        };
        &stripped
    } else {
        lane
    };
    let decision = evaluate(&PolicyInput {
        lane: policy_lane,
        release_id: &id,
        source_lane: candidate.source_lane.as_deref(),
        upstream_history: &upstream_history,
        on_required_branch: on_required_branch.clone(),
        earlier_versions: &earlier_versions,
        requested_version: args.version.as_deref(),
        approvals: &approvals,
        now,
        zones: &zones,
        state: &state,
        override_freeze: args.override_freeze.then_some(reason.unwrap_or_default()),
        override_hold: args.override_hold.then_some(reason.unwrap_or_default()),
        actor: &actor_name,
    });

    if !decision.refusals.is_empty() {
        let only_approvals = decision.refusals.iter().all(|r| r.rule == "approvals");
        let mut recorded = false;
        if approved_now && only_approvals && !args.dry_run {
            recorded = record_approval(&mut repo, lane, &id, &approvals)?;
        }
        // A recorded approval waits for the next approver; any other refusal is a failure.
        let notifications = if args.dry_run {
            Vec::new()
        } else {
            let (kind, reason) = if recorded {
                let n = approvals.len();
                (
                    EventKind::Approval,
                    format!("{n} of {} approval(s) so far", lane.approvals),
                )
            } else {
                let why: Vec<&str> = decision
                    .refusals
                    .iter()
                    .map(|r| r.message.as_str())
                    .collect();
                (EventKind::Failure, format!("refused: {}", why.join("; ")))
            };
            notify(
                &eff,
                &NotifyFacts {
                    kind,
                    lane: &lane.name,
                    release_id: &id,
                    version: None,
                    source_commit: &candidate.source_commit,
                    services: &candidate.images,
                    gitops_commit: None,
                    actor: &actor_name,
                    reason: Some(reason),
                },
            )
        };
        return Ok(refused(
            lane,
            &id,
            &decision.refusals,
            recorded,
            &notifications,
            out,
        ));
    }

    // The lane's registry: images it does not hold yet are copied there before the commit, so
    // the catalog never names an image that is missing. The release keeps its id (same digests).
    let copies = match &same {
        Some(_) => Vec::new(),
        None => lane_images::placements(lane, &candidate.images),
    };
    let mut stores = Stores::default();
    let images = if args.dry_run {
        candidate.images.clone()
    } else {
        lane_images::place(&copies, &candidate.images, &mut stores)?
    };
    // Nothing to do: the lane runs this release, rendered from this very intent, and no
    // approvals for it wait in the state. Its files are what a render would write again (the
    // hibernation they were rendered with changes only by `hibernate`/`wake`, which re-render,
    // or by the intent's `hibernate`, which is in the hash), so neither rendering nor a commit.
    let hash = intent_hash(&eff);
    let unchanged = !args.dry_run
        && same.as_ref().is_some_and(|r| r.intent_hash == hash)
        && !state.pending_approvals.contains_key(&id);
    let mut release = match same {
        Some(current) => current,
        None => Release {
            release_format: shiplane_lane::FORMAT_VERSION,
            id: id.clone(),
            lane: lane.name.clone(),
            version: decision.version.map(|v| v.to_string()),
            source_commit: candidate.source_commit.clone(),
            services: images,
            intent_hash: hash.clone(),
            approvals: approvals.clone(),
            promoted_by: actor_name.clone(),
            promoted_at: at.clone(),
            promoted_from: candidate.promoted_from.clone(),
            overrides: decision.overrides.clone(),
        },
    };
    let hibernated = state.is_hibernated(lane.hibernate);
    let mut files = if unchanged {
        None
    } else {
        Some(desired_files(&eff, lane, &release, hibernated)?)
    };
    crate::support::timing("rendered");
    // A re-render of the same release that changes the lane's files records the intent they
    // are rendered from (so the next promotion of it takes the shortcut above); one that
    // changes nothing keeps the old record and makes no commit.
    if let Some(f) = files.as_mut()
        && release.intent_hash != hash
    {
        let path = release_path(&lane.gitops.path);
        let change = lane_change(&repo, &lane.gitops.path, f, None)
            .map_err(|e| gitops_error("cannot read the lane's files", &e))?;
        if summarize(&repo, &change)?.iter().any(|(p, _)| *p != path) {
            release.intent_hash.clone_from(&hash);
            f.files.insert(path, release.to_bytes());
        }
    }
    let lane_path = lane.gitops.path.clone();
    let rid = release.id.clone();
    let new_state = |view: &dyn super::lanes::Reader| -> Result<Option<LaneState>, shiplane_gitops::GitopsError> {
        // Approvals collected for this release are used up; other state stays as it is.
        let path = state_path(&lane_path);
        let bytes = view.read(&path)?;
        let Some(bytes) = bytes else { return Ok(None) };
        let mut s = LaneState::parse(&path, Some(&bytes)).map_err(|e| shiplane_gitops::GitopsError::Change {
            head: path.clone(),
            source: e.to_string().into(),
        })?;
        s.pending_approvals.remove(&rid);
        Ok(Some(s))
    };

    // Worked out before the commit, so that a tag the release cannot fill stops the promotion
    // before anything lands; applied after it.
    let planned_tags =
        lane_images::lane_tags_on_branch(lane, &release, on_required_branch.as_ref())?;
    let label = release.label();
    if args.dry_run
        && let Some(files) = &files
    {
        let s = new_state(&repo).map_err(|e| gitops_error("cannot read the lane's state", &e))?;
        let change = lane_change(&repo, &lane.gitops.path, files, s.as_ref())
            .map_err(|e| gitops_error("cannot read the lane's files", &e))?;
        let summary = summarize(&repo, &change)?;
        let registry = RegistryWork {
            copies,
            tags: planned_tags,
        };
        print_result(
            out,
            lane,
            &release,
            None,
            Some(&summary),
            true,
            &[],
            &registry,
        );
        return Ok(ExitCode::SUCCESS);
    }

    let mut message = CommitMessage::new(format!("Promote {} to {label}", lane.name))
        .with_body(format!(
            "Release {} from {} ({}), promoted by {}.",
            release.id, release.promoted_from, release.source_commit, release.promoted_by
        ))
        .with_trailer("Shiplane-Lane", &lane.name)
        .with_trailer("Shiplane-Release", &release.id)
        .with_trailer(
            "Shiplane-Version",
            release.version.as_deref().unwrap_or("none"),
        )
        .with_trailer("Source-Commit", &release.source_commit);
    for a in &release.approvals {
        message = message.with_trailer("Approved-By", &a.by);
    }
    let facts = |kind, gitops_commit, reason| NotifyFacts {
        kind,
        lane: &lane.name,
        release_id: &release.id,
        version: release.version.as_deref(),
        source_commit: &release.source_commit,
        services: &release.services,
        gitops_commit,
        actor: &actor_name,
        reason,
    };
    let outcome = match &files {
        None => Ok(Outcome::NoChange),
        Some(files) => repo.apply(
            &|view| -> Result<shiplane_gitops::ChangeSet, shiplane_gitops::GitopsError> {
                let s = new_state(view)?;
                lane_change(view, &lane.gitops.path, files, s.as_ref())
            },
            &message,
        ),
    };
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let err = gitops_error(&format!("promoting lane `{}` failed", lane.name), &e);
            notify(
                &eff,
                &facts(EventKind::Failure, None, Some(err.message.clone())),
            );
            return Err(err);
        }
    };
    crate::support::timing("applied");
    let commit = match outcome {
        Outcome::Committed { commit, .. } => Some(commit),
        Outcome::NoChange => None,
    };
    // Only once the commit has landed, and only when something changed.
    let notifications = match &commit {
        Some(c) => notify(&eff, &facts(EventKind::Promotion, Some(c.as_str()), None)),
        None => Vec::new(),
    };
    // Lane tags follow what the lane runs: put (back) after the commit, also when nothing
    // changed, so that running the promotion again repairs a tag that did not get through.
    let mut registry = RegistryWork {
        copies,
        tags: planned_tags,
    };
    lane_images::apply_tags(&mut registry.tags, &mut stores)?;
    print_result(
        out,
        lane,
        &release,
        commit.as_deref(),
        None,
        false,
        &notifications,
        &registry,
    );
    Ok(ExitCode::SUCCESS)
}

/// What a promotion did (or, in a dry run, would do) in registries.
struct RegistryWork {
    copies: Vec<lane_images::Placement>,
    tags: Vec<lane_images::LaneTag>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one printer for the three outcomes"
)]
fn print_result(
    out: &Output,
    lane: &EffectiveLane,
    release: &Release,
    commit: Option<&str>,
    summary: Option<&[(String, &'static str)]>,
    dry_run: bool,
    notifications: &[Delivery],
    registry: &RegistryWork,
) {
    if out.json {
        let release_json: serde_json::Value =
            serde_json::from_slice(&release.to_bytes()).unwrap_or_default();
        out.print_json(&serde_json::json!({
            "lane": lane.name,
            "release": release_json,
            "dry_run": dry_run,
            "committed": commit.is_some(),
            "gitops_commit": commit,
            "changes": summary.map(|s| s.iter().map(|(p, k)| serde_json::json!({"path": p, "change": k})).collect::<Vec<_>>()),
            "notifications": notifications,
            "copies": registry.copies,
            "tags": registry.tags,
        }));
        return;
    }
    let verb = if dry_run { "would copy" } else { "copied" };
    for c in &registry.copies {
        println!("{verb} {}@{} to {}", c.from, c.digest, c.to);
    }
    if let Some(summary) = summary {
        for t in &registry.tags {
            println!("would tag {}:{} ({})", t.repository, t.tag, t.service);
        }
        println!(
            "would promote {} to {} (release {}):",
            lane.name,
            release.label(),
            release.id
        );
        for (s, i) in &release.services {
            println!("  {s:<20} {}@{}", i.repository, i.digest);
        }
        if summary.is_empty() {
            println!("no files would change: nothing to commit");
        } else {
            println!("{} file(s) would change:", summary.len());
            for (p, k) in summary {
                println!("  {k:<9} {p}");
            }
        }
        return;
    }
    match commit {
        Some(c) => println!(
            "{} promoted {} to {} (release {}) in {}",
            out.paint(Output::ok_style(), "✓"),
            lane.name,
            release.label(),
            release.id,
            c.get(..12).unwrap_or(c)
        ),
        None => println!(
            "lane {} already runs release {}: nothing changed, no commit",
            lane.name, release.id
        ),
    }
    let moved: Vec<&lane_images::LaneTag> = registry.tags.iter().filter(|t| t.moved).collect();
    if !moved.is_empty() {
        let names: std::collections::BTreeSet<&str> =
            moved.iter().map(|t| t.tag.as_str()).collect();
        println!(
            "tagged {} image(s): {}",
            moved.len(),
            names.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
}

fn refused(
    lane: &EffectiveLane,
    id: &str,
    refusals: &[Refusal],
    recorded: bool,
    notifications: &[Delivery],
    out: &Output,
) -> ExitCode {
    if out.json {
        out.print_json(&serde_json::json!({
            "refused": true,
            "lane": lane.name,
            "release": id,
            "approval_recorded": recorded,
            "refusals": refusals.iter().map(|r| serde_json::json!({"rule": r.rule, "message": r.message, "help": r.help})).collect::<Vec<_>>(),
            "notifications": notifications,
        }));
    } else {
        eprintln!("refused: release {id} may not enter lane `{}`:", lane.name);
        for r in refusals {
            eprintln!("  [{}] {}\n      help: {}", r.rule, r.message, r.help);
        }
        if recorded {
            eprintln!("  your approval was recorded in the lane's state");
        }
    }
    ExitCode::from(EXIT_POLICY)
}

/// What a notification is about.
pub(super) struct NotifyFacts<'a> {
    pub kind: EventKind,
    pub lane: &'a str,
    pub release_id: &'a str,
    pub version: Option<&'a str>,
    pub source_commit: &'a str,
    pub services: &'a BTreeMap<String, ReleaseImage>,
    pub gitops_commit: Option<&'a str>,
    pub actor: &'a str,
    pub reason: Option<String>,
}

/// Tells the intent's `notify` targets that want `facts.kind` (call it only after the `GitOps`
/// commit landed). Bounded in time (`shiplane_notify::MAX_DEADLINE`) and never failing the
/// command: what did not get through is a warning on stderr and a `notifications` entry.
pub(super) fn notify(eff: &EffectiveIntent, facts: &NotifyFacts<'_>) -> Vec<Delivery> {
    if eff.notify.is_empty() {
        return Vec::new();
    }
    let event = Event {
        kind: facts.kind,
        project: eff.project.clone(),
        lane: facts.lane.to_owned(),
        release_id: facts.release_id.to_owned(),
        version: facts.version.map(str::to_owned),
        source_commit: facts.source_commit.to_owned(),
        gitops_commit: facts.gitops_commit.map(str::to_owned),
        services: facts
            .services
            .iter()
            .map(|(name, i)| ServiceImage {
                name: name.clone(),
                digest: i.digest.clone(),
            })
            .collect(),
        actor: facts.actor.to_owned(),
        links: provenance()
            .filter(|p| p.starts_with("https://") || p.starts_with("http://"))
            .map(|url| Link {
                label: "CI run".to_owned(),
                url,
            })
            .into_iter()
            .collect(),
        reason: facts.reason.clone(),
    };
    let deliveries = shiplane_notify::send_from_env(&eff.notify, &event);
    for w in deliveries.iter().filter_map(Delivery::warning) {
        eprintln!("warning: {w}");
    }
    deliveries
}

/// Records approvals for a release not yet promotable in the lane's `state.json`, so the next
/// approver's run sees them. Returns whether a commit was made.
fn record_approval(
    repo: &mut GitopsRepo,
    lane: &EffectiveLane,
    id: &str,
    approvals: &[Approval],
) -> Result<bool, CliError> {
    let path = state_path(&lane.gitops.path);
    let message = CommitMessage::new(format!("Approve {id} for {}", lane.name))
        .with_trailer("Shiplane-Lane", &lane.name)
        .with_trailer("Shiplane-Release", id);
    let outcome = repo
        .apply(
            &|view| -> Result<shiplane_gitops::ChangeSet, shiplane_gitops::GitopsError> {
                let bytes = view.read_file(&path)?;
                let mut state = LaneState::parse(&path, bytes.as_deref()).map_err(|e| {
                    shiplane_gitops::GitopsError::Change {
                        head: path.clone(),
                        source: e.to_string().into(),
                    }
                })?;
                let list = state.pending_approvals.entry(id.to_owned()).or_default();
                for a in approvals {
                    if !list.iter().any(|x| x.by == a.by) {
                        list.push(a.clone());
                    }
                }
                Ok(shiplane_gitops::ChangeSet::new().with_write(path.clone(), state.to_bytes()))
            },
            &message,
        )
        .map_err(|e| gitops_error("recording the approval failed", &e))?;
    Ok(matches!(outcome, Outcome::Committed { .. }))
}

fn intent_hash(eff: &EffectiveIntent) -> String {
    let value = serde_json::to_value(eff).unwrap_or_default();
    hex::encode(Sha256::digest(shiplane_lane::canonical_json(&value)))
}

/// Whether `commit` is on `branch` (the local branch, else `origin/<branch>`).
fn on_branch(file: &IntentFile, commit: &str, branch: &str) -> Result<bool, String> {
    let repo = source_repo(file).map_err(|e| e.message)?;
    let tip = repo
        .resolve(&format!("refs/heads/{branch}"))
        .or_else(|_| repo.resolve(&format!("refs/remotes/origin/{branch}")))
        .map_err(|_| format!("branch `{branch}` is not in the source repository"))?;
    let c = Oid::from_hex(commit).ok_or_else(|| format!("`{commit}` is not a commit id"))?;
    repo.is_ancestor(c, tip).map_err(|e| e.to_string())
}

fn candidate(
    args: &PromoteArgs,
    file: &IntentFile,
    eff: &EffectiveIntent,
    lane: &EffectiveLane,
    lane_repo: &GitopsRepo,
) -> Result<Candidate, CliError> {
    if let Some(rev) = &args.commit {
        return from_commit(file, eff, lane, rev, Some(lane_repo));
    }
    if let Some(src) = &args.from {
        let src_lane = super::lanes::lane(eff, src)?;
        let repo = open(src_lane)?;
        let release = read_release(&repo, src_lane)?.ok_or_else(|| {
            CliError::new(
                EXIT_FAILURE,
                format!("lane `{src}` has no release to promote"),
            )
            .help(format!("promote to `{src}` first"))
        })?;
        return carry(&release, lane, Some(src.clone()), format!("lane:{src}"));
    }
    let Some(want) = &args.release else {
        return Err(CliError::new(
            EXIT_INVALID,
            "say what to promote: --commit REV, --from LANE or --release ID",
        ));
    };
    // A release of the upstream lane (or, for a root lane, of the lane itself).
    let (src_lane, src_repo_owned);
    let (search, search_repo): (&EffectiveLane, &GitopsRepo) = match &lane.from {
        Some(up) => {
            src_lane = &eff.lanes[up];
            src_repo_owned = open(src_lane)?;
            (src_lane, &src_repo_owned)
        }
        None => (lane, lane_repo),
    };
    let bare = want.strip_prefix('v').unwrap_or(want);
    let entries = history(search_repo, search)?;
    let Some((entry, _)) = entries
        .iter()
        .find(|(e, _)| e.release == *want || e.version.as_deref() == Some(bare))
    else {
        return Err(CliError::new(
            EXIT_POLICY,
            format!(
                "release `{want}` was never a release of lane `{}`",
                search.name
            ),
        )
        .help(format!(
            "see `shiplane history {}`; promote it there first",
            search.name
        )));
    };
    let release = release_at(search_repo, search, &entry.commit)?;
    carry(
        &release,
        lane,
        Some(search.name.clone()),
        "release".to_owned(),
    )
}

/// The images of an existing release, for the services `lane` deploys.
fn carry(
    release: &Release,
    lane: &EffectiveLane,
    source_lane: Option<String>,
    from: String,
) -> Result<Candidate, CliError> {
    let mut images = BTreeMap::new();
    for s in &lane.services {
        let image = release.services.get(s).ok_or_else(|| {
            CliError::new(
                EXIT_FAILURE,
                format!(
                    "release {} has no image for `{s}`, which lane `{}` deploys",
                    release.id, lane.name
                ),
            )
        })?;
        images.insert(s.clone(), image.clone());
    }
    Ok(Candidate {
        source_commit: release.source_commit.clone(),
        images,
        source_lane,
        promoted_from: from,
    })
}

/// `lane_repo`, when given and the artifact index lives in the same repository and branch (the
/// usual `defaults.gitops`), is read instead of fetching that repository a second time.
fn from_commit(
    file: &IntentFile,
    eff: &EffectiveIntent,
    lane: &EffectiveLane,
    rev: &str,
    lane_repo: Option<&GitopsRepo>,
) -> Result<Candidate, CliError> {
    let repo = source_repo(file)?;
    let (commit, fps) = crate::planning::fingerprints_at(&repo, rev, eff)?;
    let location = eff.artifact_index.clone().ok_or_else(|| {
        CliError::new(
            EXIT_INVALID,
            "the intent names no GitOps repository for the artifact index",
        )
    })?;
    let opened;
    let index = if let Some(repo) = lane_repo.filter(|_| {
        lane.gitops.repo.as_deref() == Some(location.repo.as_str())
            && lane.gitops.branch == location.branch
    }) {
        repo
    } else {
        opened = GitopsRepo::open(
            &location.repo,
            &location.branch,
            &cache_dir().join("gitops"),
        )
        .map_err(|e| gitops_error("cannot read the artifact index", &e))?;
        &opened
    };
    // One handle on the mirror for every service's file (opening it per file dominated a
    // 500-service promotion).
    let index_files: BTreeMap<&String, Option<Vec<u8>>> = index
        .read_head(|view| {
            lane.services
                .iter()
                .map(|s| Ok((s, view.read_file(&index_path(s))?)))
                .collect::<Result<_, shiplane_gitops::GitopsError>>()
        })
        .and_then(|r| r)
        .map_err(|e| gitops_error("cannot read the artifact index", &e))?;
    let hex = commit.to_hex();
    let mut images = BTreeMap::new();
    let mut missing = Vec::new();
    for s in &lane.services {
        let fp = fps
            .get(s)
            .ok_or_else(|| CliError::new(EXIT_FAILURE, format!("no fingerprint for `{s}`")))?;
        let bytes = index_files.get(s).and_then(Option::as_deref);
        let idx = ServiceIndex::parse(s, bytes)
            .map_err(|e| CliError::new(EXIT_FAILURE, e.to_string()))?;
        if let Some(r) = idx.newest(&fp.to_hex()) {
            let reused = r.source_commit != hex;
            images.insert(
                s.clone(),
                ReleaseImage {
                    repository: r.repository.clone(),
                    tag: r.tag.clone(),
                    digest: r.digest.clone(),
                    fingerprint: fp.to_hex(),
                    source_commit: r.source_commit.clone(),
                    status: if reused {
                        ImageStatus::Reused
                    } else {
                        ImageStatus::Published
                    },
                    reused_from: reused.then(|| r.source_commit.clone()),
                    copied_from: None,
                },
            );
        } else {
            let svc = &eff.services[s];
            let image = svc.image.clone().unwrap_or_else(|| format!("REGISTRY/{s}"));
            let tag = render_tag(&svc.tag, s, &hex, fp).unwrap_or_else(|_| "TAG".to_owned());
            missing.push(format!(
                "shiplane publish {s} --image {image}:{tag} --commit {hex}"
            ));
        }
    }
    if !missing.is_empty() {
        return Err(CliError::new(
            EXIT_FAILURE,
            format!(
                "commit {} has no published image for {} service(s) lane `{}` deploys:\n  {}",
                &hex[..12],
                missing.len(),
                lane.name,
                missing.join("\n  ")
            ),
        )
        .help("build and push those images, record each with the `shiplane publish` command above, then promote again"));
    }
    Ok(Candidate {
        source_commit: hex,
        images,
        source_lane: None,
        promoted_from: "commit".to_owned(),
    })
}

/// The images published for the fingerprints at `rev` of the services `lane` deploys: (the
/// source commit, service → image). Fails like `promote --commit` when one is missing. Used by
/// `shiplane env up`.
pub(super) fn images_at_commit(
    file: &IntentFile,
    eff: &EffectiveIntent,
    lane: &EffectiveLane,
    rev: &str,
) -> Result<(String, BTreeMap<String, ReleaseImage>), CliError> {
    let c = from_commit(file, eff, lane, rev, None)?;
    Ok((c.source_commit, c.images))
}
