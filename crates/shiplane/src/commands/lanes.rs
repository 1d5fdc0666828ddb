//! Lanes as the `GitOps` repository holds them: the shared adapter of `promote`, `rollback`,
//! `hold`, `hibernate` (reading a lane's release, state and history; turning a release into the
//! lane's files; replacing the lane's directory in one change), and the read-only commands
//! `history`, `status`, `diff` and `render`.
//!
//! Decisions live in `shiplane-lane` (pure); this module only gathers facts and writes bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, ExitCode};

use shiplane_gitops::{ChangeSet, DirEntry, EntryKind, GitopsError, GitopsRepo, TreeView};
use shiplane_intent::{EffectiveIntent, EffectiveLane};
use shiplane_lane::{
    HistoryEntry, LaneState, Release, catalog_path, manifests_dir, release_path, state_path,
};
use shiplane_render::{ARGOCD_DIR, PinnedImage, RenderRelease, render_lane};

use crate::cli::{DiffArgs, LaneArg, RenderArgs, StatusArgs};
use crate::intent_file;
use crate::output::{CliError, EXIT_FAILURE, EXIT_INVALID, Output};
use crate::support::cache_dir;

/// The lane called `name`, refusing unknown and template lanes.
pub(super) fn lane<'e>(
    eff: &'e EffectiveIntent,
    name: &str,
) -> Result<&'e EffectiveLane, CliError> {
    let lane = eff.lanes.get(name).ok_or_else(|| {
        CliError::new(
            EXIT_INVALID,
            format!("`{name}` is not a lane of the intent"),
        )
        .help(format!(
            "lanes are: {}",
            eff.lanes.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    if lane.template {
        return Err(CliError::new(
            EXIT_INVALID,
            format!("lane `{name}` is a template; its instances are made with `shiplane env up`"),
        ));
    }
    Ok(lane)
}

/// Opens (and fetches) the lane's `GitOps` repository.
pub(super) fn open(lane: &EffectiveLane) -> Result<GitopsRepo, CliError> {
    let repo = lane.gitops.repo.as_deref().ok_or_else(|| {
        CliError::new(
            EXIT_INVALID,
            format!("lane `{}` has no GitOps repository", lane.name),
        )
        .help("set `gitops.repo` on the lane or in `defaults`")
    })?;
    GitopsRepo::open(repo, &lane.gitops.branch, &cache_dir().join("gitops")).map_err(|e| {
        CliError::new(EXIT_FAILURE, format!("cannot open the GitOps repository of lane `{}`: {e}", lane.name))
            .help("check that the GitOps repository is reachable and the credentials (SHIPLANE_GIT_TOKEN) are set")
    })
}

pub(super) fn gitops_error(what: &str, e: &GitopsError) -> CliError {
    CliError::new(EXIT_FAILURE, format!("{what}: {e}"))
}

/// Reading a tree: the fetched head ([`GitopsRepo`]) or the head `apply` hands its closure.
pub(super) trait Reader {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, GitopsError>;
    fn list(&self, dir: &str) -> Result<Vec<DirEntry>, GitopsError>;
}

impl Reader for GitopsRepo {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, GitopsError> {
        self.read_file(path)
    }
    fn list(&self, dir: &str) -> Result<Vec<DirEntry>, GitopsError> {
        self.list_dir(dir)
    }
}

impl Reader for TreeView<'_> {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, GitopsError> {
        self.read_file(path)
    }
    fn list(&self, dir: &str) -> Result<Vec<DirEntry>, GitopsError> {
        self.list_dir(dir)
    }
}

/// Every file under `dir`, recursively, as full paths.
pub(super) fn files_under(reader: &dyn Reader, dir: &str) -> Result<Vec<String>, GitopsError> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in reader.list(&d)? {
            let path = format!("{d}/{}", entry.name);
            match entry.kind {
                EntryKind::Dir => todo.push(path),
                _ => out.push(path),
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The lane's current release, if it has one.
pub(super) fn read_release(
    reader: &dyn Reader,
    lane: &EffectiveLane,
) -> Result<Option<Release>, CliError> {
    let path = release_path(&lane.gitops.path);
    let bytes = reader
        .read(&path)
        .map_err(|e| gitops_error("cannot read the lane's release", &e))?;
    bytes
        .map(|b| Release::parse(&path, &b).map_err(|e| CliError::new(EXIT_FAILURE, e.to_string())))
        .transpose()
}

/// The lane's state (default when it has no `state.json`).
pub(super) fn read_state(reader: &dyn Reader, lane: &EffectiveLane) -> Result<LaneState, CliError> {
    let path = state_path(&lane.gitops.path);
    let bytes = reader
        .read(&path)
        .map_err(|e| gitops_error("cannot read the lane's state", &e))?;
    LaneState::parse(&path, bytes.as_deref())
        .map_err(|e| CliError::new(EXIT_FAILURE, e.to_string()))
}

/// The lane's release history, newest first: every commit that changed its `release.json`.
pub(super) fn history(
    repo: &GitopsRepo,
    lane: &EffectiveLane,
) -> Result<Vec<(HistoryEntry, shiplane_gitops::CommitInfo)>, CliError> {
    let commits = repo
        .history(&release_path(&lane.gitops.path))
        .map_err(|e| gitops_error("cannot read the lane's history", &e))?;
    Ok(commits
        .into_iter()
        .filter_map(|c| {
            let release = c.trailer("Shiplane-Release")?.to_owned();
            let version = c
                .trailer("Shiplane-Version")
                .filter(|v| *v != "none")
                .map(str::to_owned);
            Some((
                HistoryEntry {
                    commit: c.id.clone(),
                    release,
                    version,
                },
                c,
            ))
        })
        .collect())
}

fn git_mirror(repo: &GitopsRepo, args: &[&str]) -> Result<Vec<u8>, CliError> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(repo.mirror_path())
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| CliError::new(EXIT_FAILURE, format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(CliError::new(
            EXIT_FAILURE,
            format!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(out.stdout)
}

/// A file as it was at `commit` in the lane's repository.
pub(super) fn read_at(repo: &GitopsRepo, commit: &str, path: &str) -> Result<Vec<u8>, CliError> {
    git_mirror(repo, &["cat-file", "blob", &format!("{commit}:{path}")])
}

/// Every file under `dir` at `commit`, read in process from the mirror's object database (one
/// tree walk and one blob read per file, no process per file: a 500-service lane has thousands).
pub(super) fn files_at(
    repo: &GitopsRepo,
    commit: &str,
    dir: &str,
) -> Result<BTreeMap<String, Vec<u8>>, CliError> {
    let fail = |e: shiplane_git::GitError| {
        CliError::new(EXIT_FAILURE, format!("cannot read the GitOps mirror: {e}"))
    };
    let mirror = shiplane_git::Repo::discover(repo.mirror_path()).map_err(fail)?;
    let id = mirror.resolve(commit).map_err(fail)?;
    let listing = mirror.tree_listing(id).map_err(fail)?;
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    let mut out = BTreeMap::new();
    for i in listing.prefix_range(&prefix) {
        let entry = listing.get(i);
        let bytes = mirror.read_blob(entry.oid).map_err(fail)?;
        out.insert(entry.path.to_owned(), bytes);
    }
    Ok(out)
}

/// The release recorded at a commit of the lane's history.
pub(super) fn release_at(
    repo: &GitopsRepo,
    lane: &EffectiveLane,
    commit: &str,
) -> Result<Release, CliError> {
    let path = release_path(&lane.gitops.path);
    let bytes = read_at(repo, commit, &path)?;
    Release::parse(&path, &bytes).map_err(|e| CliError::new(EXIT_FAILURE, e.to_string()))
}

/// The files of a lane for a release, as full paths in the `GitOps` repository: `release.json`,
/// `catalog.json`, `manifests/…` and `argocd/…`.
pub(super) fn desired_files(
    eff: &EffectiveIntent,
    lane: &EffectiveLane,
    release: &Release,
    hibernated: bool,
) -> Result<BTreeMap<String, Vec<u8>>, CliError> {
    let render = RenderRelease {
        version: release.version.clone(),
        release_id: release.id.clone(),
        source_commit: release.source_commit.clone(),
        images: release
            .services
            .iter()
            .filter(|(s, _)| lane.services.contains(s))
            .map(|(s, i)| {
                (
                    s.clone(),
                    PinnedImage {
                        repository: i.repository.clone(),
                        digest: i.digest.clone(),
                    },
                )
            })
            .collect(),
        hibernated,
        instance: None,
    };
    let rendered = render_lane(eff, &lane.name, &render).map_err(|e| {
        CliError::new(
            EXIT_INVALID,
            format!("cannot render lane `{}`: {e}", lane.name),
        )
    })?;
    let base = lane.gitops.path.trim_end_matches('/');
    let mut files = BTreeMap::new();
    for (path, bytes) in rendered.manifests() {
        files.insert(format!("{}/{path}", manifests_dir(base)), bytes.to_vec());
    }
    for (path, bytes) in rendered.argocd() {
        files.insert(format!("{base}/{path}"), bytes.to_vec());
    }
    files.insert(release_path(base), release.to_bytes());
    files.insert(catalog_path(base), release.catalog().to_bytes());
    Ok(files)
}

/// The change that makes the lane's directory hold exactly `files` (plus `state`, when given):
/// writes them, and deletes what else is under `manifests/` and `argocd/`. Nothing outside the
/// lane's path is touched.
pub(super) fn lane_change(
    reader: &dyn Reader,
    lane_path: &str,
    files: &BTreeMap<String, Vec<u8>>,
    state: Option<&LaneState>,
) -> Result<ChangeSet, GitopsError> {
    let base = lane_path.trim_end_matches('/');
    let mut change = ChangeSet::new();
    for dir in [manifests_dir(base), format!("{base}/{ARGOCD_DIR}")] {
        for existing in files_under(reader, &dir)? {
            if !files.contains_key(&existing) {
                change.delete(existing);
            }
        }
    }
    for (path, bytes) in files {
        change.write(path.clone(), bytes.clone());
    }
    if let Some(state) = state {
        change.write(state_path(base), state.to_bytes());
    }
    Ok(change)
}

/// What a change would do to the tree: (path, `added` | `modified` | `deleted`), changed files only.
pub(super) fn summarize(
    reader: &dyn Reader,
    change: &ChangeSet,
) -> Result<Vec<(String, &'static str)>, CliError> {
    let mut out = Vec::new();
    for (path, bytes) in change.writes() {
        let now = reader
            .read(path)
            .map_err(|e| gitops_error("cannot read the GitOps repository", &e))?;
        match now {
            None => out.push((path.clone(), "added")),
            Some(b) if b != *bytes => out.push((path.clone(), "modified")),
            Some(_) => {}
        }
    }
    for path in change.deletes() {
        out.push((path.clone(), "deleted"));
    }
    out.sort();
    Ok(out)
}

/// Who is acting: `SHIPLANE_ACTOR`, `GITHUB_ACTOR`, `BUILDKITE_BUILD_CREATOR`, else git's
/// `user.name`.
pub(super) fn actor() -> Option<String> {
    for var in ["SHIPLANE_ACTOR", "GITHUB_ACTOR", "BUILDKITE_BUILD_CREATOR"] {
        if let Some(v) = std::env::var(var)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
        {
            return Some(v);
        }
    }
    let out = Command::new("git")
        .args(["config", "user.name"])
        .output()
        .ok()?;
    let name = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !name.is_empty()).then_some(name)
}

/// Now.
pub(super) fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// Now as RFC 3339 UTC, seconds precision.
pub(super) fn now_text(now: jiff::Timestamp) -> String {
    crate::support::rfc3339(u64::try_from(now.as_second()).unwrap_or(0))
}

fn short(s: &str) -> &str {
    s.get(..7).unwrap_or(s)
}

// ---------------------------------------------------------------------------------------------
// history, status, diff, render

/// `shiplane history LANE`.
pub fn run_history(
    args: &LaneArg,
    intent: Option<&Path>,
    out: &Output,
) -> Result<ExitCode, CliError> {
    let (_, eff) = intent_file::load_valid(intent, out)?;
    let lane = lane(&eff, &args.lane)?;
    let repo = open(lane)?;
    let entries = history(&repo, lane)?;
    if out.json {
        let list: Vec<serde_json::Value> = entries
            .iter()
            .map(|(e, c)| {
                serde_json::json!({
                    "commit": e.commit,
                    "release": e.release,
                    "version": e.version,
                    "source_commit": c.trailer("Source-Commit"),
                    "approved_by": c.trailers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("Approved-By")).map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                    "subject": c.subject,
                    "time": crate::support::rfc3339(u64::try_from(c.time).unwrap_or(0)),
                })
            })
            .collect();
        out.print_json(&serde_json::json!({ "lane": lane.name, "history": list }));
    } else if entries.is_empty() {
        println!("lane {} has no releases yet", lane.name);
    } else {
        for (e, c) in &entries {
            println!(
                "{}  {}  {:<24} {:<10} {}",
                short(&e.commit),
                crate::support::rfc3339(u64::try_from(c.time).unwrap_or(0)),
                e.release,
                e.version.as_deref().unwrap_or("-"),
                c.subject
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn age(promoted_at: &str, now: jiff::Timestamp) -> String {
    let Ok(at) = promoted_at.parse::<jiff::Timestamp>() else {
        return "?".to_owned();
    };
    let secs = (now.as_second() - at.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// `shiplane status [LANE]`.
pub fn run_status(
    args: &StatusArgs,
    intent: Option<&Path>,
    out: &Output,
) -> Result<ExitCode, CliError> {
    let (_, eff) = intent_file::load_valid(intent, out)?;
    let names: Vec<String> = match &args.lane {
        Some(l) => vec![lane(&eff, l)?.name.clone()],
        None => eff
            .lanes
            .values()
            .filter(|l| !l.template)
            .map(|l| l.name.clone())
            .collect(),
    };
    let now = now();
    let mut lanes_json = Vec::new();
    let mut rows = Vec::new();
    for name in &names {
        let lane = &eff.lanes[name];
        let repo = open(lane)?;
        let release = read_release(&repo, lane)?;
        let state = read_state(&repo, lane)?;
        let hibernated = state.is_hibernated(lane.hibernate);
        let pending: usize = state.pending_approvals.values().map(Vec::len).sum();
        let services: BTreeMap<String, serde_json::Value> = release
            .iter()
            .flat_map(|r| r.services.iter())
            .map(|(s, i)| {
                (
                    s.clone(),
                    serde_json::json!({
                        "image": i.repository, "tag": i.tag, "digest": i.digest,
                        "source_commit": i.source_commit, "status": i.status,
                    }),
                )
            })
            .collect();
        lanes_json.push(serde_json::json!({
            "lane": name,
            "release": release.as_ref().map(|r| &r.id),
            "version": release.as_ref().and_then(|r| r.version.clone()),
            "source_commit": release.as_ref().map(|r| &r.source_commit),
            "promoted_at": release.as_ref().map(|r| &r.promoted_at),
            "age": release.as_ref().map(|r| age(&r.promoted_at, now)),
            "held": state.held,
            "hold_reason": state.reason,
            "hibernated": hibernated,
            "pending_approvals": pending,
            "services": services,
        }));
        let flags = format!(
            "{}{}",
            if state.held { " HELD" } else { "" },
            if hibernated { " hibernated" } else { "" }
        );
        match &release {
            None => rows.push(format!("{name}: no release yet{flags}")),
            Some(r) => {
                rows.push(format!(
                    "{name}: release {} ({}) from {} {} ago{flags}",
                    r.id,
                    r.version.as_deref().unwrap_or("unversioned"),
                    short(&r.source_commit),
                    age(&r.promoted_at, now)
                ));
                for (s, i) in &r.services {
                    rows.push(
                        format!(
                            "  {s:<20} {}  built from {} ({:?})",
                            i.digest,
                            short(&i.source_commit),
                            i.status
                        )
                        .to_lowercase(),
                    );
                }
            }
        }
    }
    if out.json {
        out.print_json(&serde_json::json!({ "lanes": lanes_json }));
    } else {
        for r in rows {
            println!("{r}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `shiplane diff LANE_A LANE_B`.
pub fn run_diff(
    args: &DiffArgs,
    intent: Option<&Path>,
    out: &Output,
) -> Result<ExitCode, CliError> {
    let (_, eff) = intent_file::load_valid(intent, out)?;
    let a = lane(&eff, &args.a)?;
    let b = lane(&eff, &args.b)?;
    let ra = read_release(&open(a)?, a)?;
    let rb = read_release(&open(b)?, b)?;
    let services: BTreeSet<&String> = ra
        .iter()
        .chain(rb.iter())
        .flat_map(|r| r.services.keys())
        .collect();
    let mut differ = Vec::new();
    for s in services {
        let da = ra
            .as_ref()
            .and_then(|r| r.services.get(s))
            .map(|i| i.digest.clone());
        let db = rb
            .as_ref()
            .and_then(|r| r.services.get(s))
            .map(|i| i.digest.clone());
        if da != db {
            differ.push((s.clone(), da, db));
        }
    }
    let va = ra.as_ref().and_then(|r| r.version.clone());
    let vb = rb.as_ref().and_then(|r| r.version.clone());
    if out.json {
        out.print_json(&serde_json::json!({
            "a": { "lane": a.name, "release": ra.as_ref().map(|r| &r.id), "version": va },
            "b": { "lane": b.name, "release": rb.as_ref().map(|r| &r.id), "version": vb },
            "same_release": ra.as_ref().map(|r| &r.id) == rb.as_ref().map(|r| &r.id),
            "services": differ.iter().map(|(s, x, y)| serde_json::json!({"service": s, "a": x, "b": y})).collect::<Vec<_>>(),
        }));
    } else {
        let label = |r: &Option<Release>| {
            r.as_ref().map_or_else(
                || "no release".to_owned(),
                |r| format!("{} ({})", r.id, r.label()),
            )
        };
        println!("{}: {}\n{}: {}", a.name, label(&ra), b.name, label(&rb));
        if differ.is_empty() {
            println!("every service runs the same digest");
        }
        for (s, x, y) in &differ {
            println!(
                "  {s:<20} {} → {}",
                x.as_deref().unwrap_or("-"),
                y.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `shiplane render LANE [--release ID] [--out DIR]`.
pub fn run_render(
    args: &RenderArgs,
    intent: Option<&Path>,
    out: &Output,
) -> Result<ExitCode, CliError> {
    let (_, eff) = intent_file::load_valid(intent, out)?;
    let lane = lane(&eff, &args.lane)?;
    let repo = open(lane)?;
    let release = match &args.release {
        None => read_release(&repo, lane)?.ok_or_else(|| {
            CliError::new(
                EXIT_FAILURE,
                format!("lane `{}` has no release yet", lane.name),
            )
            .help(format!(
                "promote one first: `shiplane promote {} …`",
                lane.name
            ))
        })?,
        Some(want) => {
            let entries = history(&repo, lane)?;
            let bare = want.strip_prefix('v').unwrap_or(want);
            let (e, _) = entries
                .iter()
                .find(|(e, _)| e.release == *want || e.version.as_deref() == Some(bare))
                .ok_or_else(|| {
                    CliError::new(
                        EXIT_INVALID,
                        format!("no release `{want}` in the history of lane `{}`", lane.name),
                    )
                })?;
            release_at(&repo, lane, &e.commit)?
        }
    };
    let state = read_state(&repo, lane)?;
    let files = desired_files(&eff, lane, &release, state.is_hibernated(lane.hibernate))?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("rendered").join(&lane.name));
    let base = format!("{}/", lane.gitops.path.trim_end_matches('/'));
    let mut written = Vec::new();
    for (path, bytes) in &files {
        let rel = path.strip_prefix(&base).unwrap_or(path);
        let target = dir.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                CliError::new(
                    EXIT_FAILURE,
                    format!("cannot create {}: {e}", parent.display()),
                )
            })?;
        }
        std::fs::write(&target, bytes).map_err(|e| {
            CliError::new(
                EXIT_FAILURE,
                format!("cannot write {}: {e}", target.display()),
            )
        })?;
        written.push(rel.to_owned());
    }
    if out.json {
        out.print_json(&serde_json::json!({ "lane": lane.name, "release": release.id, "out": dir.display().to_string(), "files": written }));
    } else {
        println!(
            "rendered lane {} at release {} into {} ({} files)",
            lane.name,
            release.id,
            dir.display(),
            written.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
