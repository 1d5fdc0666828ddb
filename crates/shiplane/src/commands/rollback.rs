//! `shiplane rollback LANE [--to VERSION|RELEASE]`: restores the lane's files exactly as they
//! were at an earlier release (release, catalog, manifests, Argo CD objects) in one new commit,
//! and holds the lane so automation does not promote over it (SPEC §2.6: a rollback sticks).
//!
//! No promotion policy applies: a rollback goes back to something the lane already ran, and it
//! is what people reach for during an incident, freeze or not.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use shiplane_gitops::{CommitMessage, Outcome};
use shiplane_lane::{LaneState, manifests_dir, release_path, rollback_target, state_path};

use super::lanes::{
    Desired, actor_or_unknown, change_error, files_at, gitops_error, history, lane, lane_change,
    now, now_text, open, read_release, release_at, write_mode_edits,
};
use crate::cli::RollbackArgs;
use crate::intent_file;
use crate::output::{CliError, ErrorKind, Output};

pub fn run(args: &RollbackArgs, intent: Option<&Path>, out: &Output) -> Result<ExitCode, CliError> {
    let (_, eff) = intent_file::load_valid(intent, out)?;
    let lane = lane(&eff, &args.lane)?;
    let mut repo = open(lane)?;
    let current = read_release(&repo, lane)?.ok_or_else(|| {
        CliError::new(
            ErrorKind::Failure,
            format!("lane `{}` has no release to roll back from", lane.name),
        )
    })?;
    let entries: Vec<_> = history(&repo, lane)?.into_iter().map(|(e, _)| e).collect();
    let target = rollback_target(&entries, &current.id, args.to.as_deref())
        .map_err(|why| {
            CliError::new(ErrorKind::Invalid, format!("lane `{}`: {why}", lane.name))
                .help(format!("see `shiplane history {}`", lane.name))
        })?
        .clone();
    let release = release_at(&repo, lane, &target.commit)?;
    let base = lane.gitops.path.trim_end_matches('/').to_owned();

    // The lane's files exactly as they were at that release. In a write mode the team's values
    // file or kustomization is not restored (it may hold their later edits): its image values
    // are set to the earlier release's again.
    let edits = write_mode_edits(&eff, lane, &base, &release.services)?;
    let mut files = BTreeMap::new();
    if edits.is_none() {
        files = files_at(&repo, &target.commit, &manifests_dir(&base))?;
        files.extend(files_at(&repo, &target.commit, &format!("{base}/argocd"))?);
    }
    for name in ["release.json", "catalog.json"] {
        let path = format!("{base}/{name}");
        files.insert(
            path.clone(),
            super::lanes::read_at(&repo, &target.commit, &path)?,
        );
    }
    debug_assert!(files.contains_key(&release_path(&base)));
    let desired = match edits {
        Some(edits) => Desired {
            files,
            edits,
            owns_manifests: false,
        },
        None => Desired::rendered(files),
    };

    let who = actor_or_unknown().name;
    let at = now_text(now());
    let reason = args.reason.clone().unwrap_or_else(|| {
        format!(
            "rolled back from {} to {}",
            current.label(),
            release.label()
        )
    });
    let message = CommitMessage::new(format!("Roll back {} to {}", lane.name, release.label()))
        .with_body(format!("From release {} to release {}; the lane is held until `shiplane release-hold {}`.\n\nReason: {reason}", current.id, release.id, lane.name))
        .with_trailer("Shiplane-Lane", &lane.name)
        .with_trailer("Shiplane-Release", &release.id)
        .with_trailer("Shiplane-Version", release.version.as_deref().unwrap_or("none"))
        .with_trailer("Source-Commit", &release.source_commit)
        .with_trailer("Shiplane-Rollback-From", &current.id);
    let spath = state_path(&base);
    let outcome = repo
        .apply(
            &|view| -> Result<shiplane_gitops::ChangeSet, shiplane_gitops::GitopsError> {
                let bytes = view.read_file(&spath)?;
                let mut state = LaneState::parse(&spath, bytes.as_deref())
                    .map_err(|e| change_error(view, e.to_string()))?;
                state.held = true;
                state.reason = Some(reason.clone());
                state.by = Some(who.clone());
                state.at = Some(at.clone());
                lane_change(view, &base, &desired, Some(&state))
            },
            &message,
        )
        .map_err(|e| gitops_error(&format!("rolling back lane `{}` failed", lane.name), &e))?;
    let commit = match outcome {
        Outcome::Committed { commit, .. } => Some(commit),
        Outcome::NoChange => None,
    };
    // Only once the rollback commit has landed; never failing the rollback.
    let notifications = match &commit {
        Some(c) => super::promote::notify(
            &eff,
            &super::promote::NotifyFacts {
                kind: shiplane_notify::EventKind::Rollback,
                lane: &lane.name,
                release_id: &release.id,
                version: release.version.as_deref(),
                source_commit: &release.source_commit,
                services: &release.services,
                gitops_commit: Some(c.as_str()),
                actor: &who,
                reason: Some(reason.clone()),
            },
        ),
        None => Vec::new(),
    };
    // The lane's moving tags go back with it (the release was admitted when it first entered
    // the lane). A registry that does not answer must not undo or block a rollback: it is a
    // warning, and the same rollback run again retries it.
    let (mut tags, tag_error) = match super::lane_images::lane_tags(lane, &release) {
        Ok(tags) => (tags, None),
        Err(e) => (Vec::new(), Some(e.message)),
    };
    let tag_error = tag_error.or_else(|| {
        super::lane_images::apply_tags(&mut tags, &mut crate::registry::Stores::default())
            .err()
            .map(|e| e.message)
    });
    if let Some(e) = &tag_error {
        eprintln!("warning: the lane's tags were not moved back: {e}");
        eprintln!("  help: run the same rollback again to retry; the rollback itself landed");
    }
    if out.json {
        out.print_json(&serde_json::json!({
            "lane": lane.name,
            "from": { "release": current.id, "version": current.version },
            "to": { "release": release.id, "version": release.version, "gitops_commit": target.commit },
            "held": true,
            "committed": commit.is_some(),
            "gitops_commit": commit,
            "notifications": notifications,
            "tags": tags,
            "tags_error": tag_error,
        }));
    } else {
        crate::outln!(
            "{} rolled back {} from {} to {} (release {}); the lane is held: `shiplane release-hold {}` resumes promotions",
            out.paint(crate::output::Output::ok_style(), "✓"),
            lane.name,
            current.label(),
            release.label(),
            release.id,
            lane.name
        );
    }
    Ok(ExitCode::SUCCESS)
}
