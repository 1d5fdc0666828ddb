//! `shiplane promote LANE (--commit REV | --from LANE | --release ID)`: gathers the release and
//! the facts the policy needs, lets `shiplane_lane::evaluate` decide, and writes the lane's
//! release, catalog and manifests to the `GitOps` repository in one commit (none when nothing
//! changed). Refusals exit 3 and say what is missing and how to get it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use shiplane_artifacts::{ServiceIndex, index_path};
use shiplane_gitops::{CommitMessage, GitopsRepo, Outcome};
use shiplane_intent::{EffectiveIntent, EffectiveLane};
use shiplane_lane::{
    Approval, ImageStatus, LaneState, PolicyInput, Refusal, Release, ReleaseImage, Version,
    evaluate, order_refusal, release_id, release_path, state_path,
};
use shiplane_notify::{Delivery, Event, EventKind, Link, ServiceImage};
use shiplane_plan::{Oid, render_tag};

use super::lane_images;
use super::lanes::{
    Reader as _, actor, actor_or_unknown, change_error, desired_files, gitops_error, history, lane,
    lane_change, now, now_text, open, read_release, read_state, release_at, summarize,
};
use crate::cli::PromoteArgs;
use crate::intent_file::{self, IntentFile};
use crate::output::{CliError, ErrorKind, Output};
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
            CliError::new(ErrorKind::Invalid, "an override needs --reason TEXT")
                .help("the reason is recorded in the release for the audit trail"),
        );
    }
    if args.version.is_some() && lane.version.is_none() {
        return Err(CliError::new(
            ErrorKind::Invalid,
            format!(
                "lane `{}` is not versioned, so --version does not apply",
                lane.name
            ),
        )
        .help("give the lane `version: patch|minor|major` in the intent"));
    }
    if let Some(v) = &args.version {
        Version::parse(v)
            .map_err(|e| CliError::new(ErrorKind::Invalid, format!("--version: {e}")))?;
    }
    let actor = actor();
    if args.approve && actor.is_none() {
        return Err(
            CliError::new(ErrorKind::Invalid, "--approve needs to know who you are")
                .help("set SHIPLANE_ACTOR (or git's user.name)"),
        );
    }
    let actor = actor.unwrap_or_else(actor_or_unknown);

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
    // What the lane runs now, as bytes: the promotion is re-checked against the head it
    // commits to, and refused when the lane moved (a rollback, a hold) in between.
    let release_file = release_path(&lane.gitops.path);
    let current_bytes = repo
        .read_file(&release_file)
        .map_err(|e| gitops_error("cannot read the lane's release", &e))?;
    let current = current_bytes
        .as_deref()
        .map(|b| Release::parse(&release_file, b))
        .transpose()
        .map_err(|e| CliError::new(ErrorKind::Failure, e.to_string()))?;
    let state = read_state(&repo, lane)?;
    let hash = intent_hash(&eff)?;
    let now = now();
    let at = now_text(now);

    let same = current.as_ref().filter(|c| c.id == id).cloned();
    // The lane already runs this release. Either nothing would change (same intent, or an
    // intent change that renders to the same files) — then there is nothing to decide — or the
    // intent changed what the lane runs, and that change goes through the whole policy like
    // any other (SPEC §2.5), with approvals bound to this intent.
    let mut stores = Stores::default();
    // The lane's files as rendered to tell whether anything changes; reused for the commit
    // (only the release record differs), so a re-promotion renders once.
    let mut rendered = None;
    if let Some(cur) = &same {
        let pending = state.pending_approvals.contains_key(&id);
        let unchanged = !args.dry_run && cur.intent_hash == hash && !pending;
        let changes_lane = !unchanged && !pending && {
            let probe = Release {
                intent_hash: hash.clone(),
                ..cur.clone()
            };
            let hibernated = state.is_hibernated(lane.hibernate);
            let files = desired_files(&eff, lane, &probe, hibernated)?;
            let change = lane_change(&repo, &lane.gitops.path, &files, None)
                .map_err(|e| gitops_error("cannot read the lane's files", &e))?;
            let changed = summarize(&repo, &change)?
                .iter()
                .any(|(p, _)| *p != release_file);
            rendered = Some(files);
            changed
        };
        if !changes_lane && !pending {
            // Where the release is taken from is checked on every request, also when nothing
            // would change: `promote prod --from qa` is refused whatever prod runs.
            if let Some(r) = order_refusal(lane, candidate.source_lane.as_deref()) {
                return Ok(refused(lane, &id, &[r], false, &[], out));
            }
            // Lane tags follow what the lane runs: put back also when nothing changed, so that
            // running the promotion again repairs a tag that did not get through.
            let on_required_branch = lane
                .require_tag_on
                .as_ref()
                .map(|branch| on_branch(&file, &cur.source_commit, branch));
            let mut registry = RegistryWork {
                copies: Vec::new(),
                tags: lane_images::lane_tags_on_branch(lane, cur, on_required_branch.as_ref())?,
            };
            if !args.dry_run {
                lane_images::apply_tags(&mut registry.tags, &mut stores)?;
            }
            let summary: Vec<(String, &'static str)> = Vec::new();
            print_result(
                out,
                lane,
                cur,
                None,
                args.dry_run.then_some(summary.as_slice()),
                args.dry_run,
                &[],
                &registry,
            );
            return Ok(ExitCode::SUCCESS);
        }
    }

    // Facts for the policy.
    let lane_history = history(&repo, lane)?;
    let upstream_history: Vec<String> = match &lane.from {
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
    let downgrade_from = match current
        .as_ref()
        .filter(|c| c.source_commit != candidate.source_commit)
    {
        Some(c) => is_strict_ancestor(&file, &candidate.source_commit, &c.source_commit)?
            .then(|| c.source_commit.clone()),
        None => None,
    };
    let mine = args.approve.then(|| Approval {
        by: actor.name.clone(),
        at: at.clone(),
        source: actor.source,
        intent_hash: Some(hash.clone()),
    });
    let approvals = with_approval(
        state
            .pending_approvals
            .get(&id)
            .map_or(&[][..], Vec::as_slice),
        mine.as_ref(),
        &hash,
    );
    crate::support::timing("facts");
    let zones = |name: &str| jiff::tz::TimeZone::get(name).ok();
    let reason = args.reason.as_deref();

    // A re-promotion keeps the release's version: the same images from the same commit are
    // the same release, whatever intent they are rendered with.
    let keep_version;
    let policy_lane = if same.is_some() {
        keep_version = EffectiveLane {
            version: None,
            ..lane.clone()
        };
        &keep_version
    } else {
        lane
    };
    let policy = |state: &LaneState, approvals: &[Approval]| {
        evaluate(&PolicyInput {
            lane: policy_lane,
            release_id: &id,
            source_lane: candidate.source_lane.as_deref(),
            upstream_history: &upstream_history,
            on_required_branch: on_required_branch.clone(),
            earlier_versions: &earlier_versions,
            requested_version: args.version.as_deref(),
            approvals,
            intent_hash: &hash,
            now,
            zones: &zones,
            state,
            override_freeze: args.override_freeze.then_some(reason.unwrap_or_default()),
            override_hold: args.override_hold.then_some(reason.unwrap_or_default()),
            actor: &actor.name,
            downgrade_from: downgrade_from.as_deref(),
            allow_downgrade: args.allow_downgrade,
        })
    };
    let decision = policy(&state, &approvals);

    if !decision.refusals.is_empty() {
        let mut recorded = false;
        if let Some(mine) = mine.as_ref().filter(|_| decision.only_approvals_missing())
            && !args.dry_run
        {
            recorded = record_approval(&mut repo, lane, &id, mine)?;
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
                    actor: &actor.name,
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
    let images = if args.dry_run {
        candidate.images.clone()
    } else {
        lane_images::place(&copies, &candidate.images, &mut stores)?
    };
    // The record names who made *this* change and the approvals that admitted *it*; a
    // re-promotion of the same release keeps only the release's identity and version.
    let release = Release {
        release_format: shiplane_lane::FORMAT_VERSION,
        id: id.clone(),
        lane: lane.name.clone(),
        version: match &same {
            Some(cur) => cur.version.clone(),
            None => decision.version.map(|v| v.to_string()),
        },
        source_commit: candidate.source_commit.clone(),
        services: match &same {
            Some(cur) => cur.services.clone(),
            None => images,
        },
        intent_hash: hash.clone(),
        approvals: approvals
            .iter()
            .filter(|a| a.intent_hash.as_deref() == Some(hash.as_str()))
            .cloned()
            .collect(),
        promoted_by: actor.name.clone(),
        promoted_by_source: actor.source,
        promoted_at: at.clone(),
        promoted_from: candidate.promoted_from.clone(),
        overrides: decision.overrides.clone(),
    };
    let files = match rendered {
        Some(mut files) => {
            files.files.insert(release_file.clone(), release.to_bytes());
            files
        }
        None => desired_files(&eff, lane, &release, state.is_hibernated(lane.hibernate))?,
    };
    crate::support::timing("rendered");
    let lane_path = lane.gitops.path.clone();
    let rid = release.id.clone();
    // Approvals collected for this release are used up; other state stays as it is.
    let new_state = |view: &dyn super::lanes::Reader| -> Result<Option<LaneState>, shiplane_gitops::GitopsError> {
        let path = state_path(&lane_path);
        let Some(bytes) = view.read(&path)? else { return Ok(None) };
        let mut s = LaneState::parse(&path, Some(&bytes)).map_err(|e| change_error(view, e.to_string()))?;
        s.pending_approvals.remove(&rid);
        Ok(Some(s))
    };

    // Worked out before the commit, so that a tag the release cannot fill stops the promotion
    // before anything lands; applied after it.
    let planned_tags =
        lane_images::lane_tags_on_branch(lane, &release, on_required_branch.as_ref())?;
    let label = release.label();
    if args.dry_run {
        let s = new_state(&repo).map_err(|e| gitops_error("cannot read the lane's state", &e))?;
        let change = lane_change(&repo, &lane.gitops.path, &files, s.as_ref())
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

    // A release is committed only when its images exist (HEAD by digest in each registry).
    lane_images::verify_present(&release.services, &mut stores)?;

    let mut message = CommitMessage::new(format!("Promote {} to {label}", lane.name))
        .with_body(format!(
            "Release {} from {} ({}), promoted by {} ({}).",
            release.id,
            release.promoted_from,
            release.source_commit,
            release.promoted_by,
            release.promoted_by_source
        ))
        .with_trailer("Shiplane-Lane", &lane.name)
        .with_trailer("Shiplane-Release", &release.id)
        .with_trailer(
            "Shiplane-Version",
            release.version.as_deref().unwrap_or("none"),
        )
        .with_trailer("Source-Commit", &release.source_commit)
        .with_trailer("Promoted-By", &release.promoted_by);
    for a in &release.approvals {
        message = message.with_trailer("Approved-By", format!("{} ({})", a.by, a.source));
    }
    let facts = |kind, gitops_commit, reason| NotifyFacts {
        kind,
        lane: &lane.name,
        release_id: &release.id,
        version: release.version.as_deref(),
        source_commit: &release.source_commit,
        services: &release.services,
        gitops_commit,
        actor: &actor.name,
        reason,
    };
    // The policy is decided again on the head the commit is built on, inside the retry: a hold
    // or rollback that landed while this promotion was in flight wins.
    let late_refusals: std::cell::RefCell<Option<Vec<Refusal>>> = std::cell::RefCell::new(None);
    let lane_moved = std::cell::Cell::new(false);
    let outcome = repo.apply(
        &|view| -> Result<shiplane_gitops::ChangeSet, shiplane_gitops::GitopsError> {
            let head_state = read_state(view, lane).map_err(|e| change_error(view, e.message))?;
            let approvals = with_approval(
                head_state.pending_approvals.get(&id).map_or(&[][..], Vec::as_slice),
                mine.as_ref(),
                &hash,
            );
            let recheck = policy(&head_state, &approvals);
            if !recheck.refusals.is_empty() {
                let messages: Vec<String> = recheck.refusals.iter().map(|r| r.message.clone()).collect();
                *late_refusals.borrow_mut() = Some(recheck.refusals);
                return Err(change_error(view, format!("refused on the head it would commit to: {}", messages.join("; "))));
            }
            let now_bytes = view.read(&release_file)?;
            if now_bytes != current_bytes {
                lane_moved.set(true);
                let runs = now_bytes
                    .as_deref()
                    .and_then(|b| Release::parse(&release_file, b).ok())
                    .map_or_else(|| "something else".to_owned(), |r| format!("release {}", r.label()));
                return Err(change_error(
                    view,
                    format!("lane `{}` changed while this promotion was in flight (it now runs {runs}); nothing was committed", lane.name),
                ));
            }
            let s = new_state(view)?;
            lane_change(view, &lane.gitops.path, &files, s.as_ref())
        },
        &message,
    );
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            if let Some(refusals) = late_refusals.take() {
                return Ok(refused(lane, &id, &refusals, false, &[], out));
            }
            let mut err = gitops_error(&format!("promoting lane `{}` failed", lane.name), &e);
            if lane_moved.get() || e.is_retryable() {
                err = err.help(
                    "run the same promotion again: it is decided afresh on what the lane runs now",
                );
            }
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

/// The approvals filed for a release plus `mine` (when given and not already among them for
/// this intent): one person approving twice counts once.
fn with_approval(filed: &[Approval], mine: Option<&Approval>, hash: &str) -> Vec<Approval> {
    let mut all = filed.to_vec();
    if let Some(me) = mine
        && !all
            .iter()
            .any(|a| a.by == me.by && a.intent_hash.as_deref() == Some(hash))
    {
        all.push(me.clone());
    }
    all
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
        crate::outln!("{verb} {}@{} to {}", c.from, c.digest, c.to);
    }
    if let Some(summary) = summary {
        for t in &registry.tags {
            crate::outln!("would tag {}:{} ({})", t.repository, t.tag, t.service);
        }
        crate::outln!(
            "would promote {} to {} (release {}):",
            lane.name,
            release.label(),
            release.id
        );
        for (s, i) in &release.services {
            crate::outln!("  {s:<20} {}@{}", i.repository, i.digest);
        }
        if summary.is_empty() {
            crate::outln!("no files would change: nothing to commit");
        } else {
            crate::outln!("{} file(s) would change:", summary.len());
            for (p, k) in summary {
                crate::outln!("  {k:<9} {p}");
            }
        }
        return;
    }
    match commit {
        Some(c) => crate::outln!(
            "{} promoted {} to {} (release {}) in {}",
            out.paint(Output::ok_style(), "✓"),
            lane.name,
            release.label(),
            release.id,
            c.get(..12).unwrap_or(c)
        ),
        None => crate::outln!(
            "lane {} already runs release {}: nothing changed, no commit",
            lane.name,
            release.id
        ),
    }
    let moved: Vec<&lane_images::LaneTag> = registry.tags.iter().filter(|t| t.moved).collect();
    if !moved.is_empty() {
        // Counted as people read it: the tags set, and on how many services' images (a lane
        // with three tags on eight services moved 3 tags on 8 images, not "24 images").
        let names: std::collections::BTreeSet<&str> =
            moved.iter().map(|t| t.tag.as_str()).collect();
        let services: std::collections::BTreeSet<&str> =
            moved.iter().map(|t| t.service.as_str()).collect();
        crate::outln!(
            "set {} tag(s) ({}) on {} service image(s)",
            names.len(),
            names.into_iter().collect::<Vec<_>>().join(", "),
            services.len()
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
            "refusals": refusals.iter().map(|r| serde_json::json!({"rule": r.rule.as_str(), "message": r.message, "help": r.help})).collect::<Vec<_>>(),
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
    ErrorKind::Policy.exit()
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

/// Records an approval for a release not yet promotable in the lane's `state.json`, so the
/// next approver's run sees it. Returns whether a commit was made.
fn record_approval(
    repo: &mut GitopsRepo,
    lane: &EffectiveLane,
    id: &str,
    approval: &Approval,
) -> Result<bool, CliError> {
    let path = state_path(&lane.gitops.path);
    let message = CommitMessage::new(format!("Approve {id} for {}", lane.name))
        .with_trailer("Shiplane-Lane", &lane.name)
        .with_trailer("Shiplane-Release", id)
        .with_trailer(
            "Approved-By",
            format!("{} ({})", approval.by, approval.source),
        );
    let outcome = repo
        .apply(
            &|view| -> Result<shiplane_gitops::ChangeSet, shiplane_gitops::GitopsError> {
                let bytes = view.read_file(&path)?;
                let mut state = LaneState::parse(&path, bytes.as_deref())
                    .map_err(|e| change_error(view, e.to_string()))?;
                let list = state.pending_approvals.entry(id.to_owned()).or_default();
                if !list
                    .iter()
                    .any(|x| x.by == approval.by && x.intent_hash == approval.intent_hash)
                {
                    list.push(approval.clone());
                }
                Ok(shiplane_gitops::ChangeSet::new().with_write(path.clone(), state.to_bytes()))
            },
            &message,
        )
        .map_err(|e| gitops_error("recording the approval failed", &e))?;
    Ok(matches!(outcome, Outcome::Committed { .. }))
}

/// [`shiplane_lane::intent_hash`] as a command error.
pub(super) fn intent_hash(eff: &EffectiveIntent) -> Result<String, CliError> {
    shiplane_lane::intent_hash(eff).map_err(|e| {
        CliError::new(
            ErrorKind::Failure,
            format!("cannot serialise the effective intent to hash it: {e}"),
        )
    })
}

/// Whether `older` is a strict ancestor of `newer` in the source repository: promoting it would
/// move the lane back in history. A commit the clone does not have stops the promotion (it
/// cannot be told, and guessing "no" would let an out-of-order CI job move a lane back).
fn is_strict_ancestor(file: &IntentFile, older: &str, newer: &str) -> Result<bool, CliError> {
    let repo = source_repo(file)?;
    let parse = |c: &str| {
        Oid::from_hex(c)
            .ok_or_else(|| CliError::new(ErrorKind::Failure, format!("`{c}` is not a commit id")))
    };
    let (o, n) = (parse(older)?, parse(newer)?);
    if o == n {
        return Ok(false);
    }
    repo.is_ancestor(o, n).map_err(|e| {
        CliError::new(
            ErrorKind::Failure,
            format!(
                "cannot tell whether {} is older than {}, which the lane runs: {e}",
                older.get(..12).unwrap_or(older),
                newer.get(..12).unwrap_or(newer)
            ),
        )
        .help("fetch the lane's commit into this clone (`git fetch origin`, or a full clone in CI: fetch-depth 0)")
    })
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
                ErrorKind::Failure,
                format!("lane `{src}` has no release to promote"),
            )
            .help(format!("promote to `{src}` first"))
        })?;
        return carry(&release, lane, Some(src.clone()), format!("lane:{src}"));
    }
    let Some(want) = &args.release else {
        return Err(CliError::new(
            ErrorKind::Invalid,
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
        // A release another lane had is an order question (exit 3); one no lane ever had is an
        // unknown name, a usage error like an unknown lane (exit 2).
        let elsewhere = known_elsewhere(eff, &search.name, want, bare)?;
        let kind = if elsewhere.is_some() {
            ErrorKind::Policy
        } else {
            ErrorKind::Invalid
        };
        let also = elsewhere.map_or_else(
            || " (no lane has had it)".to_owned(),
            |l| format!(" (lane `{l}` had it)"),
        );
        return Err(CliError::new(
            kind,
            format!(
                "release `{want}` was never a release of lane `{}`{also}",
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

/// The first other (non-template) lane whose history holds release `want` (an id, or a version
/// `bare`), if any.
fn known_elsewhere(
    eff: &EffectiveIntent,
    searched: &str,
    want: &str,
    bare: &str,
) -> Result<Option<String>, CliError> {
    for (name, l) in eff
        .lanes
        .iter()
        .filter(|(n, l)| *n != searched && !l.template)
    {
        let repo = open(l)?;
        if history(&repo, l)?
            .iter()
            .any(|(e, _)| e.release == want || e.version.as_deref() == Some(bare))
        {
            return Ok(Some(name.clone()));
        }
    }
    Ok(None)
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
                ErrorKind::Failure,
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
            ErrorKind::Invalid,
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
        let fp = fps.get(s).ok_or_else(|| {
            CliError::new(ErrorKind::Failure, format!("no fingerprint for `{s}`"))
        })?;
        let bytes = index_files.get(s).and_then(Option::as_deref);
        let idx = ServiceIndex::parse(s, bytes)
            .map_err(|e| CliError::new(ErrorKind::Failure, e.to_string()))?;
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
            ErrorKind::Failure,
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
