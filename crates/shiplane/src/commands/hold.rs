//! `shiplane hold` / `release-hold` (stop and resume promotions) and `hibernate` / `wake`
//! (replicas 0 and back), each one commit to the lane's `state.json` — plus, for hibernation,
//! the lane's manifests re-rendered from its current release.

use std::path::Path;
use std::process::ExitCode;

use shiplane_gitops::{ChangeSet, CommitMessage, GitopsError, Outcome};
use shiplane_intent::EffectiveIntent;
use shiplane_intent::model::WriteMode;
use shiplane_lane::{LaneState, state_path};

use super::lanes::{
    Reader, actor_or_unknown, change_error, desired_files, gitops_error, lane, lane_change, now,
    now_text, open, read_release,
};
use crate::cli::{HoldArgs, LaneArg};
use crate::intent_file;
use crate::output::{CliError, ErrorKind, Output};

/// The lane's state as the head `view` holds it; a file that does not parse stops the change
/// (the error names that head commit and the file).
fn parse_state(view: &dyn Reader, path: &str) -> Result<LaneState, GitopsError> {
    let bytes = view.read(path)?;
    LaneState::parse(path, bytes.as_deref()).map_err(|e| change_error(view, e.to_string()))
}

/// `shiplane hold LANE [--reason TEXT]`.
pub fn hold(args: &HoldArgs, intent: Option<&Path>, out: &Output) -> Result<ExitCode, CliError> {
    let (_, eff) = intent_file::load_valid(intent, out)?;
    let lane = lane(&eff, &args.lane)?;
    let who = actor_or_unknown().name;
    let at = now_text(now());
    let reason = args
        .reason
        .clone()
        .unwrap_or_else(|| format!("held by {who}"));
    let path = state_path(&lane.gitops.path);
    let message = CommitMessage::new(format!("Hold {}", lane.name))
        .with_body(format!("Reason: {reason}"))
        .with_trailer("Shiplane-Lane", &lane.name);
    let outcome = open(lane)?
        .apply(
            &|view| -> Result<ChangeSet, GitopsError> {
                let mut s = parse_state(view, &path)?;
                if s.held {
                    return Ok(ChangeSet::new());
                }
                s.held = true;
                s.reason = Some(reason.clone());
                s.by = Some(who.clone());
                s.at = Some(at.clone());
                Ok(ChangeSet::new().with_write(path.clone(), s.to_bytes()))
            },
            &message,
        )
        .map_err(|e| gitops_error("holding the lane failed", &e))?;
    report(out, &lane.name, "held", &outcome);
    Ok(ExitCode::SUCCESS)
}

/// `shiplane release-hold LANE`.
pub fn release(args: &LaneArg, intent: Option<&Path>, out: &Output) -> Result<ExitCode, CliError> {
    let (_, eff) = intent_file::load_valid(intent, out)?;
    let lane = lane(&eff, &args.lane)?;
    let who = actor_or_unknown().name;
    let path = state_path(&lane.gitops.path);
    let message = CommitMessage::new(format!("Release the hold on {}", lane.name))
        .with_body(format!("Released by {who}."))
        .with_trailer("Shiplane-Lane", &lane.name);
    let outcome = open(lane)?
        .apply(
            &|view| -> Result<ChangeSet, GitopsError> {
                let mut s = parse_state(view, &path)?;
                if !s.held {
                    return Ok(ChangeSet::new());
                }
                s.held = false;
                s.reason = None;
                s.by = None;
                s.at = None;
                Ok(ChangeSet::new().with_write(path.clone(), s.to_bytes()))
            },
            &message,
        )
        .map_err(|e| gitops_error("releasing the hold failed", &e))?;
    report(out, &lane.name, "released", &outcome);
    Ok(ExitCode::SUCCESS)
}

/// `shiplane hibernate LANE` (`asleep = true`) / `shiplane wake LANE`.
pub fn hibernate(
    args: &LaneArg,
    asleep: bool,
    intent: Option<&Path>,
    out: &Output,
) -> Result<ExitCode, CliError> {
    let (_, eff): (_, EffectiveIntent) = intent_file::load_valid(intent, out)?;
    let lane = lane(&eff, &args.lane)?;
    if !matches!(lane.write, WriteMode::Render) {
        return Err(CliError::new(
            ErrorKind::Invalid,
            format!(
                "lane `{}` writes image values into the team's own files (`write: {}`), so Shiplane does not own its replica counts and cannot {}",
                lane.name,
                if matches!(lane.write, WriteMode::HelmValues(_)) { "helm-values" } else { "kustomize-images" },
                if asleep { "scale it to zero" } else { "wake it" }
            ),
        )
        .help("set the replicas in the lane's values file or kustomization by hand"));
    }
    let mut repo = open(lane)?;
    let files = match read_release(&repo, lane)? {
        Some(r) => Some(desired_files(&eff, lane, &r, asleep)?),
        None => None,
    };
    let path = state_path(&lane.gitops.path);
    let verb = if asleep { "Hibernate" } else { "Wake" };
    let message = CommitMessage::new(format!("{verb} {}", lane.name))
        .with_trailer("Shiplane-Lane", &lane.name);
    let outcome = repo
        .apply(
            &|view| -> Result<ChangeSet, GitopsError> {
                let mut s = parse_state(view, &path)?;
                s.hibernated = Some(asleep);
                match &files {
                    Some(f) => lane_change(view, &lane.gitops.path, f, Some(&s)),
                    None => Ok(ChangeSet::new().with_write(path.clone(), s.to_bytes())),
                }
            },
            &message,
        )
        .map_err(|e| gitops_error(&format!("{} failed", verb.to_lowercase()), &e))?;
    report(
        out,
        &lane.name,
        if asleep { "hibernated" } else { "awake" },
        &outcome,
    );
    Ok(ExitCode::SUCCESS)
}

fn report(out: &Output, lane: &str, what: &str, outcome: &Outcome) {
    let commit = match outcome {
        Outcome::Committed { commit, .. } => Some(commit.as_str()),
        Outcome::NoChange => None,
    };
    if out.json {
        out.print_json(&serde_json::json!({ "lane": lane, "state": what, "committed": commit.is_some(), "gitops_commit": commit }));
    } else if commit.is_some() {
        crate::outln!("{} lane {lane} {what}", out.paint(Output::ok_style(), "✓"));
    } else {
        crate::outln!("lane {lane} was already {what}: no commit");
    }
}
