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
use shiplane_intent::model::WriteMode;
use shiplane_intent::{EffectiveIntent, EffectiveLane};
use shiplane_lane::{
    Actor, HistoryEntry, IdentitySource, LaneState, Release, ReleaseImage, catalog_path,
    manifests_dir, release_path, state_path,
};
use shiplane_render::{
    ARGOCD_DIR, EditError, PinnedImage, RenderRelease, helm_values_edit, kustomize_images_edit,
    render_lane,
};

use crate::cli::{DiffArgs, LaneArg, RenderArgs, StatusArgs};
use crate::intent_file;
use crate::output::{CliError, ErrorKind, Output};
use crate::support::cache_dir;

/// The lane called `name`, refusing unknown and template lanes.
pub(super) fn lane<'e>(
    eff: &'e EffectiveIntent,
    name: &str,
) -> Result<&'e EffectiveLane, CliError> {
    let lane = eff.lanes.get(name).ok_or_else(|| {
        CliError::new(
            ErrorKind::Invalid,
            format!("`{name}` is not a lane of the intent"),
        )
        .help(format!(
            "lanes are: {}",
            eff.lanes.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    if lane.template {
        return Err(CliError::new(
            ErrorKind::Invalid,
            format!("lane `{name}` is a template; its instances are made with `shiplane env up`"),
        ));
    }
    Ok(lane)
}

/// Opens (and fetches) the lane's `GitOps` repository.
pub(super) fn open(lane: &EffectiveLane) -> Result<GitopsRepo, CliError> {
    let repo = lane.gitops.repo.as_deref().ok_or_else(|| {
        CliError::new(
            ErrorKind::Invalid,
            format!("lane `{}` has no GitOps repository", lane.name),
        )
        .help("set `gitops.repo` on the lane or in `defaults`")
    })?;
    GitopsRepo::open(repo, &lane.gitops.branch, &cache_dir().join("gitops")).map_err(|e| {
        CliError::new(ErrorKind::Failure, format!("cannot open the GitOps repository of lane `{}`: {e}", lane.name))
            .help("check that the GitOps repository is reachable and the credentials (SHIPLANE_GIT_TOKEN) are set")
    })
}

pub(super) fn gitops_error(what: &str, e: &GitopsError) -> CliError {
    if let GitopsError::Change { source, .. } = e
        && let Some(w) = source.downcast_ref::<WriteModeError>()
    {
        return CliError::new(ErrorKind::Failure, format!("{what}: {w}")).help(w.help());
    }
    CliError::new(ErrorKind::Failure, format!("{what}: {e}"))
}

/// Reading a tree: the fetched head ([`GitopsRepo`]) or the head `apply` hands its closure.
pub(super) trait Reader {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, GitopsError>;
    fn list(&self, dir: &str) -> Result<Vec<DirEntry>, GitopsError>;
    /// The commit read from (`None`: the branch does not exist yet).
    fn head(&self) -> Option<String>;
}

impl Reader for GitopsRepo {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, GitopsError> {
        self.read_file(path)
    }
    fn list(&self, dir: &str) -> Result<Vec<DirEntry>, GitopsError> {
        self.list_dir(dir)
    }
    fn head(&self) -> Option<String> {
        GitopsRepo::head(self)
    }
}

impl Reader for TreeView<'_> {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, GitopsError> {
        self.read_file(path)
    }
    fn list(&self, dir: &str) -> Result<Vec<DirEntry>, GitopsError> {
        self.list_dir(dir)
    }
    fn head(&self) -> Option<String> {
        TreeView::head(self)
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
        .map(|b| {
            Release::parse(&path, &b).map_err(|e| CliError::new(ErrorKind::Failure, e.to_string()))
        })
        .transpose()
}

/// The lane's state (default when it has no `state.json`).
pub(super) fn read_state(reader: &dyn Reader, lane: &EffectiveLane) -> Result<LaneState, CliError> {
    let path = state_path(&lane.gitops.path);
    let bytes = reader
        .read(&path)
        .map_err(|e| gitops_error("cannot read the lane's state", &e))?;
    LaneState::parse(&path, bytes.as_deref())
        .map_err(|e| CliError::new(ErrorKind::Failure, e.to_string()))
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
        .map_err(|e| CliError::new(ErrorKind::Failure, format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(CliError::new(
            ErrorKind::Failure,
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
        CliError::new(
            ErrorKind::Failure,
            format!("cannot read the GitOps mirror: {e}"),
        )
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
    Release::parse(&path, &bytes).map_err(|e| CliError::new(ErrorKind::Failure, e.to_string()))
}

/// What a lane's directory should hold for a release.
pub(super) struct Desired {
    /// Files written as they are, full paths in the `GitOps` repository.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The team's own files a write mode edits in place (`helm-values`, `kustomize-images`),
    /// by full path. They are edited on the tree the change is computed on, so a retry on a
    /// moved head edits the newest version of the file.
    pub edits: BTreeMap<String, FileEdit>,
    /// Render mode: `manifests/` and `argocd/` are Shiplane's, and what `files` has not there is
    /// deleted. In the write modes the lane's other files are the team's and never deleted.
    pub owns_manifests: bool,
}

impl Desired {
    /// Files Shiplane renders and owns (render mode, rollback, environments).
    pub(super) fn rendered(files: BTreeMap<String, Vec<u8>>) -> Desired {
        Desired {
            files,
            edits: BTreeMap::new(),
            owns_manifests: true,
        }
    }

    /// Every file, with the write mode's edits made on `reader`'s tree.
    pub(super) fn materialize(
        &self,
        reader: &dyn Reader,
    ) -> Result<BTreeMap<String, Vec<u8>>, GitopsError> {
        let mut out = self.files.clone();
        for (path, edit) in &self.edits {
            out.insert(path.clone(), edit.apply(reader, path)?);
        }
        Ok(out)
    }
}

/// An in-place edit of one file of the team's.
pub(super) struct FileEdit {
    /// The lane, for messages.
    lane: String,
    what: EditWhat,
}

enum EditWhat {
    /// `helm-values`: (dotted key path, value).
    Helm(Vec<(String, String)>),
    /// `kustomize-images`: (name, newName, digest).
    Kustomize(Vec<(String, String, String)>),
}

impl FileEdit {
    fn mode(&self) -> &'static str {
        match self.what {
            EditWhat::Helm(_) => "helm-values",
            EditWhat::Kustomize(_) => "kustomize-images",
        }
    }

    /// The file at `path` in `reader`'s tree with the image values set, or a [`WriteModeError`]
    /// (as [`GitopsError::Change`], terminal: a human has to fix the file).
    fn apply(&self, reader: &dyn Reader, path: &str) -> Result<Vec<u8>, GitopsError> {
        let fail = |kind: WriteModeErrorKind| GitopsError::Change {
            head: reader
                .head()
                .map_or_else(|| "the empty branch".to_owned(), |h| format!("commit {h}")),
            source: Box::new(WriteModeError {
                lane: self.lane.clone(),
                mode: self.mode(),
                path: path.to_owned(),
                kind,
            }),
        };
        let Some(bytes) = reader.read(path)? else {
            return Err(fail(WriteModeErrorKind::Missing));
        };
        let text = String::from_utf8(bytes).map_err(|_| fail(WriteModeErrorKind::NotText))?;
        let edited = match &self.what {
            EditWhat::Helm(keys) => {
                let pairs: Vec<(&str, &str)> =
                    keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                helm_values_edit(&text, &pairs)
            }
            EditWhat::Kustomize(images) => {
                let triples: Vec<(&str, &str, &str)> = images
                    .iter()
                    .map(|(n, r, d)| (n.as_str(), r.as_str(), d.as_str()))
                    .collect();
                kustomize_images_edit(&text, &triples)
            }
        }
        .map_err(|e| fail(WriteModeErrorKind::Edit(e)))?;
        Ok(edited.into_bytes())
    }
}

/// Why a write mode could not edit the team's file. Carried inside [`GitopsError::Change`] and
/// turned into a message with help by [`gitops_error`].
#[derive(Debug)]
pub(super) struct WriteModeError {
    lane: String,
    mode: &'static str,
    path: String,
    kind: WriteModeErrorKind,
}

#[derive(Debug)]
enum WriteModeErrorKind {
    Missing,
    NotText,
    Edit(EditError),
}

impl WriteModeError {
    fn help(&self) -> String {
        match (&self.kind, self.mode) {
            (WriteModeErrorKind::Missing, "helm-values") => format!(
                "create `{}` in the GitOps repository (the values file your chart reads, with the image keys under the paths the lane names), commit it, and promote again",
                self.path
            ),
            (WriteModeErrorKind::Missing, _) => format!(
                "create `{}` in the GitOps repository (your kustomization, with `resources:` pointing at your base), commit it, and promote again",
                self.path
            ),
            (WriteModeErrorKind::NotText, _) => {
                format!("`{}` must be a UTF-8 YAML file", self.path)
            }
            (WriteModeErrorKind::Edit(_), _) => format!(
                "Shiplane changes only the image values and refuses any other change; fix `{}` by hand as the message says and promote again (nothing was written)",
                self.path
            ),
        }
    }
}

impl std::fmt::Display for WriteModeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (lane, mode, path) = (&self.lane, self.mode, &self.path);
        match &self.kind {
            WriteModeErrorKind::Missing => write!(
                f,
                "lane `{lane}` writes {mode} into `{path}`, which does not exist in the GitOps repository"
            ),
            WriteModeErrorKind::NotText => {
                write!(f, "`{path}` ({mode} of lane `{lane}`) is not UTF-8 text")
            }
            WriteModeErrorKind::Edit(e) => {
                write!(
                    f,
                    "cannot set the images in `{path}` ({mode} of lane `{lane}`): {e}"
                )
            }
        }
    }
}

impl std::error::Error for WriteModeError {}

/// A lane-relative file name from the intent, joined to the lane's path; refuses names that
/// would leave the lane's directory or overwrite Shiplane's own files.
fn lane_file(lane: &EffectiveLane, base: &str, file: &str) -> Result<String, CliError> {
    let bad = |why: &str| {
        CliError::new(
            ErrorKind::Invalid,
            format!("lane `{}`: write file `{file}` {why}", lane.name),
        )
        .help("name a file relative to the lane's gitops.path, like `values.yaml`")
    };
    if file.is_empty() || file.starts_with('/') {
        return Err(bad("must be a relative path"));
    }
    if file
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(bad(
            "must stay inside the lane's directory (no `.`, `..` or `//`)",
        ));
    }
    let path = format!("{base}/{file}");
    if [release_path(base), catalog_path(base), state_path(base)].contains(&path) {
        return Err(bad("is one of Shiplane's own files"));
    }
    Ok(path)
}

/// The edits a `helm-values` or `kustomize-images` lane makes for `images` (the services the lane
/// deploys), by full path under `base` (the lane's directory); `None` in render mode.
///
/// * `helm-values`: the file (relative to the lane's directory, `{service}` and `{project}`
///   substituted) gets `<repository key>` = the image repository, `<tag key>` = its tag and
///   `<digest key>` = its digest; the keys default to `{service}.image.repository|tag|digest`.
/// * `kustomize-images`: the `images:` entry whose `name` is the service gets `newName` = the
///   image repository and `digest` (added when missing).
pub(super) fn write_mode_edits(
    eff: &EffectiveIntent,
    lane: &EffectiveLane,
    base: &str,
    images: &BTreeMap<String, ReleaseImage>,
) -> Result<Option<BTreeMap<String, FileEdit>>, CliError> {
    let deployed = images.iter().filter(|(s, _)| lane.services.contains(s));
    let sub = |template: &str, service: &str| {
        shiplane_intent::template::substitute(template, &|var| match var {
            "service" => Some(service.to_owned()),
            "project" => Some(eff.project.clone()),
            _ => None,
        })
    };
    let mut out: BTreeMap<String, FileEdit> = BTreeMap::new();
    match &lane.write {
        WriteMode::Render => return Ok(None),
        WriteMode::HelmValues(h) => {
            for (service, image) in deployed {
                let path = lane_file(lane, base, &sub(&h.file, service))?;
                let key = |given: &Option<String>, default: &str| {
                    sub(given.as_deref().unwrap_or(default), service)
                };
                let entry = out.entry(path).or_insert_with(|| FileEdit {
                    lane: lane.name.clone(),
                    what: EditWhat::Helm(Vec::new()),
                });
                if let EditWhat::Helm(keys) = &mut entry.what {
                    keys.push((
                        key(&h.repository, "{service}.image.repository"),
                        image.repository.clone(),
                    ));
                    keys.push((key(&h.tag, "{service}.image.tag"), image.tag.clone()));
                    keys.push((
                        key(&h.digest, "{service}.image.digest"),
                        image.digest.clone(),
                    ));
                }
            }
        }
        WriteMode::KustomizeImages(k) => {
            for (service, image) in deployed {
                let path = lane_file(lane, base, &sub(&k.file, service))?;
                let entry = out.entry(path).or_insert_with(|| FileEdit {
                    lane: lane.name.clone(),
                    what: EditWhat::Kustomize(Vec::new()),
                });
                if let EditWhat::Kustomize(list) = &mut entry.what {
                    list.push((
                        service.clone(),
                        image.repository.clone(),
                        image.digest.clone(),
                    ));
                }
            }
        }
    }
    Ok(Some(out))
}

/// Service → `repository@digest` to render, from a release's images.
pub(super) fn pinned<'a>(
    images: impl Iterator<Item = (&'a String, &'a ReleaseImage)>,
) -> BTreeMap<String, PinnedImage> {
    images
        .map(|(s, i)| {
            (
                s.clone(),
                PinnedImage {
                    repository: i.repository.clone(),
                    digest: i.digest.clone(),
                },
            )
        })
        .collect()
}

/// What a lane holds for a release, as full paths in the `GitOps` repository: `release.json`,
/// `catalog.json` and, by the lane's write mode, either `manifests/…` and `argocd/…` (render)
/// or the edits of the team's values file or kustomization.
pub(super) fn desired_files(
    eff: &EffectiveIntent,
    lane: &EffectiveLane,
    release: &Release,
    hibernated: bool,
) -> Result<Desired, CliError> {
    let base = lane.gitops.path.trim_end_matches('/');
    let mut files = BTreeMap::new();
    files.insert(release_path(base), release.to_bytes());
    files.insert(catalog_path(base), release.catalog().to_bytes());
    if let Some(edits) = write_mode_edits(eff, lane, base, &release.services)? {
        return Ok(Desired {
            files,
            edits,
            owns_manifests: false,
        });
    }
    let render = RenderRelease {
        version: release.version.clone(),
        release_id: release.id.clone(),
        source_commit: release.source_commit.clone(),
        images: pinned(
            release
                .services
                .iter()
                .filter(|(s, _)| lane.services.contains(s)),
        ),
        hibernated,
        instance: None,
    };
    let rendered = render_lane(eff, &lane.name, &render).map_err(|e| {
        CliError::new(
            ErrorKind::Invalid,
            format!("cannot render lane `{}`: {e}", lane.name),
        )
    })?;
    for (path, bytes) in rendered.manifests() {
        files.insert(format!("{}/{path}", manifests_dir(base)), bytes.to_vec());
    }
    for (path, bytes) in rendered.argocd() {
        files.insert(format!("{base}/{path}"), bytes.to_vec());
    }
    Ok(Desired::rendered(files))
}

/// The change that makes the lane's directory hold `desired` (plus `state`, when given): writes
/// its files and edits and, in render mode, deletes what else is under `manifests/` and
/// `argocd/`. Nothing outside the lane's path is touched.
pub(super) fn lane_change(
    reader: &dyn Reader,
    lane_path: &str,
    desired: &Desired,
    state: Option<&LaneState>,
) -> Result<ChangeSet, GitopsError> {
    let base = lane_path.trim_end_matches('/');
    let mut change = ChangeSet::new();
    if desired.owns_manifests {
        for dir in [manifests_dir(base), format!("{base}/{ARGOCD_DIR}")] {
            for existing in files_under(reader, &dir)? {
                if !desired.files.contains_key(&existing) {
                    change.delete(existing);
                }
            }
        }
    }
    for (path, bytes) in &desired.files {
        change.write(path.clone(), bytes.clone());
    }
    for (path, edit) in &desired.edits {
        change.write(path.clone(), edit.apply(reader, path)?);
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
pub(super) fn actor() -> Option<Actor> {
    for (var, source) in [
        ("SHIPLANE_ACTOR", IdentitySource::Env),
        ("GITHUB_ACTOR", IdentitySource::CiGithub),
        ("BUILDKITE_BUILD_CREATOR", IdentitySource::CiBuildkite),
    ] {
        if let Some(v) = std::env::var(var)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
        {
            return Some(Actor { name: v, source });
        }
    }
    let out = Command::new("git")
        .args(["config", "user.name"])
        .output()
        .ok()?;
    let name = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !name.is_empty()).then_some(Actor {
        name,
        source: IdentitySource::GitConfig,
    })
}

/// [`actor`], or `unknown` when nothing names the person.
pub(super) fn actor_or_unknown() -> Actor {
    actor().unwrap_or_else(|| Actor {
        name: "unknown".to_owned(),
        source: IdentitySource::Unknown,
    })
}

/// A change that cannot be computed on the head `view` holds (a lane file that does not
/// parse): the error names that head commit, and the message names the file.
pub(super) fn change_error(view: &dyn Reader, message: impl Into<String>) -> GitopsError {
    GitopsError::Change {
        head: view.head().unwrap_or_else(|| "the empty branch".to_owned()),
        source: message.into().into(),
    }
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

/// Who made a history entry and when, and the release a rollback left.
struct EntryFacts {
    rollback_from: Option<String>,
    by: Option<String>,
    at: String,
}

/// A rollback commit carries `Shiplane-Rollback-From`; its actor and time are in the lane's
/// `state.json` as that commit wrote it (the hold it set). A promotion names its actor in
/// `Promoted-By`.
fn entry_facts(
    repo: &GitopsRepo,
    lane: &EffectiveLane,
    e: &HistoryEntry,
    c: &shiplane_gitops::CommitInfo,
) -> EntryFacts {
    let time = crate::support::rfc3339(u64::try_from(c.time).unwrap_or(0));
    let Some(from) = c.trailer("Shiplane-Rollback-From") else {
        return EntryFacts {
            rollback_from: None,
            by: c.trailer("Promoted-By").map(str::to_owned),
            at: time,
        };
    };
    let path = state_path(&lane.gitops.path);
    let state = read_at(repo, &e.commit, &path)
        .ok()
        .and_then(|b| LaneState::parse(&path, Some(&b)).ok());
    EntryFacts {
        rollback_from: Some(from.to_owned()),
        by: state.as_ref().and_then(|s| s.by.clone()),
        at: state.and_then(|s| s.at).unwrap_or(time),
    }
}

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
    let facts: Vec<EntryFacts> = entries
        .iter()
        .map(|(e, c)| entry_facts(&repo, lane, e, c))
        .collect();
    if out.json {
        let list: Vec<serde_json::Value> = entries
            .iter()
            .zip(&facts)
            .map(|((e, c), f)| {
                serde_json::json!({
                    "commit": e.commit,
                    "release": e.release,
                    "version": e.version,
                    "source_commit": c.trailer("Source-Commit"),
                    "approved_by": c.trailers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("Approved-By")).map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                    "subject": c.subject,
                    "time": crate::support::rfc3339(u64::try_from(c.time).unwrap_or(0)),
                    "rollback_from": f.rollback_from,
                    "by": f.by,
                    "at": f.at,
                })
            })
            .collect();
        out.print_json(&serde_json::json!({ "lane": lane.name, "history": list }));
    } else if entries.is_empty() {
        crate::outln!("lane {} has no releases yet", lane.name);
    } else {
        for ((e, c), f) in entries.iter().zip(&facts) {
            let rollback = f.rollback_from.as_ref().map_or_else(String::new, |from| {
                out.paint(
                    Output::warn_style(),
                    &format!(
                        "  rolled back from {from} by {} at {}",
                        f.by.as_deref().unwrap_or("unknown"),
                        f.at
                    ),
                )
            });
            crate::outln!(
                "{}  {}  {:<24} {:<10} {}{rollback}",
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

/// What `status` read of one lane.
struct LaneView {
    name: String,
    from: Option<String>,
    deploys: Vec<String>,
    release: Option<Release>,
    state: LaneState,
    hibernated: bool,
    pending: usize,
}

impl LaneView {
    /// The image the lane runs for `service` (`None`: not deployed there, or no release).
    fn image(&self, service: &str) -> Option<&ReleaseImage> {
        if !self.deploys.iter().any(|s| s == service) {
            return None;
        }
        self.release.as_ref()?.services.get(service)
    }

    fn markers(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        if self.state.held {
            m.push("HELD");
        }
        if self.hibernated {
            m.push("hibernated");
        }
        if self.pending > 0 {
            m.push("awaiting approval");
        }
        m
    }
}

/// The digest `view` runs for `service` differs from its upstream lane's (`*`), or from a
/// downstream lane's (`+`), among the lanes shown.
fn cell_marks(views: &[LaneView], view: &LaneView, service: &str) -> (bool, bool) {
    let Some(mine) = view.image(service).map(|i| &i.digest) else {
        return (false, false);
    };
    let digest_in = |name: &str| {
        views
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.image(service).map(|i| &i.digest))
    };
    let differs_up = view
        .from
        .as_deref()
        .and_then(digest_in)
        .is_some_and(|up| up != Some(mine));
    let ahead = views
        .iter()
        .filter(|v| v.from.as_deref() == Some(view.name.as_str()))
        .any(|down| down.image(service).map(|i| &i.digest) != Some(mine));
    (differs_up, ahead)
}

/// `shiplane status [LANE]`.
pub fn run_status(
    args: &StatusArgs,
    intent: Option<&Path>,
    out: &Output,
) -> Result<ExitCode, CliError> {
    use super::status_view::{AHEAD_DOWNSTREAM, DIFFERS_UPSTREAM, cell, lane_order, layout};

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
    let mut views = Vec::new();
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
            "from": lane.from,
            "release": release.as_ref().map(|r| &r.id),
            "version": release.as_ref().and_then(|r| r.version.clone()),
            "source_commit": release.as_ref().map(|r| &r.source_commit),
            "promoted_at": release.as_ref().map(|r| &r.promoted_at),
            "age": release.as_ref().map(|r| age(&r.promoted_at, now)),
            "held": state.held,
            "hold_reason": state.reason,
            "held_by": state.by,
            "held_at": state.at,
            "hibernated": hibernated,
            "pending_approvals": pending,
            "services": services,
        }));
        views.push(LaneView {
            name: name.clone(),
            from: lane.from.clone(),
            deploys: lane.services.clone(),
            release,
            state,
            hibernated,
            pending,
        });
    }
    let order = lane_order(
        &views
            .iter()
            .map(|v| (v.name.clone(), v.from.clone()))
            .collect::<Vec<_>>(),
    );
    views.sort_by_key(|v| order.iter().position(|n| *n == v.name));
    let services: Vec<&String> = eff.services.keys().collect();

    if out.json {
        let rows: Vec<serde_json::Value> = services
            .iter()
            .map(|s| {
                let cells: serde_json::Map<String, serde_json::Value> = views
                    .iter()
                    .map(|v| {
                        let value = v.image(s).map_or(serde_json::Value::Null, |i| {
                            let (up, ahead) = cell_marks(&views, v, s);
                            serde_json::json!({
                                "version": v.release.as_ref().and_then(|r| r.version.clone()),
                                "source_commit": i.source_commit,
                                "digest": i.digest,
                                "differs_from_upstream": up,
                                "differs_from_downstream": ahead,
                            })
                        });
                        (v.name.clone(), value)
                    })
                    .collect();
                serde_json::json!({ "service": s, "cells": cells })
            })
            .collect();
        out.print_json(&serde_json::json!({
            "lanes": lanes_json,
            "matrix": { "lanes": order, "services": rows },
        }));
        return Ok(ExitCode::SUCCESS);
    }

    let mut table = Vec::new();
    let mut header = vec!["service".to_owned()];
    for v in &views {
        let m = v.markers();
        header.push(if m.is_empty() {
            v.name.clone()
        } else {
            format!("{} [{}]", v.name, m.join(", "))
        });
    }
    table.push(header);
    let mut any_up = false;
    let mut any_ahead = false;
    for s in &services {
        let mut row = vec![(*s).clone()];
        for v in &views {
            row.push(v.image(s).map_or_else(
                || "-".to_owned(),
                |i| {
                    let (up, ahead) = cell_marks(&views, v, s);
                    any_up |= up;
                    any_ahead |= ahead;
                    let version = v.release.as_ref().and_then(|r| r.version.as_deref());
                    let mut text = cell(version, &i.source_commit, &i.digest);
                    if up {
                        text.push(DIFFERS_UPSTREAM);
                    }
                    if ahead {
                        text.push(AHEAD_DOWNSTREAM);
                    }
                    text
                },
            ));
        }
        table.push(row);
    }
    for (r, row) in layout(&table).into_iter().enumerate() {
        let cells: Vec<String> = row
            .into_iter()
            .enumerate()
            .map(|(c, text)| {
                let marked = c > 0
                    && if r == 0 {
                        !views[c - 1].markers().is_empty()
                    } else {
                        text.trim_end()
                            .ends_with([DIFFERS_UPSTREAM, AHEAD_DOWNSTREAM])
                    };
                if marked {
                    out.paint(Output::warn_style(), &text)
                } else {
                    text
                }
            })
            .collect();
        crate::outln!("{}", cells.join("  ").trim_end());
    }
    if any_up || any_ahead {
        let mut legend = Vec::new();
        if any_up {
            legend.push(format!(
                "{DIFFERS_UPSTREAM} digest differs from the upstream (`from`) lane's"
            ));
        }
        if any_ahead {
            legend.push(format!(
                "{AHEAD_DOWNSTREAM} digest not yet in a downstream lane"
            ));
        }
        crate::outln!("{}", legend.join("; "));
    }
    for v in views.iter().filter(|v| v.state.held) {
        crate::outln!(
            "{}",
            out.paint(
                Output::warn_style(),
                &format!(
                    "{}: HELD since {} by {} — {}",
                    v.name,
                    v.state.at.as_deref().unwrap_or("?"),
                    v.state.by.as_deref().unwrap_or("unknown"),
                    v.state.reason.as_deref().unwrap_or("no reason given")
                )
            )
        );
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
        crate::outln!("{}: {}\n{}: {}", a.name, label(&ra), b.name, label(&rb));
        if differ.is_empty() {
            crate::outln!("every service runs the same digest");
        }
        for (s, x, y) in &differ {
            crate::outln!(
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
                ErrorKind::Failure,
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
                        ErrorKind::Invalid,
                        format!("no release `{want}` in the history of lane `{}`", lane.name),
                    )
                })?;
            release_at(&repo, lane, &e.commit)?
        }
    };
    let state = read_state(&repo, lane)?;
    let files = desired_files(&eff, lane, &release, state.is_hibernated(lane.hibernate))?
        .materialize(&repo)
        .map_err(|e| gitops_error(&format!("cannot render lane `{}`", lane.name), &e))?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("rendered").join(&lane.name));
    let base = format!("{}/", lane.gitops.path.trim_end_matches('/'));
    std::fs::create_dir_all(&dir).map_err(|e| {
        CliError::new(
            ErrorKind::Failure,
            format!("cannot create {}: {e}", dir.display()),
        )
    })?;
    let rel = |path: &'_ String| -> String { path.strip_prefix(&base).unwrap_or(path).to_owned() };
    for path in files.keys() {
        crate::out_dir::check_no_links(&dir, &rel(path))?;
    }
    let mut written = Vec::new();
    for (path, bytes) in &files {
        let rel = rel(path);
        // Never through a symbolic link inside `dir` (exit 1, naming the link): a link left
        // there would make render write outside the directory or over the link's target.
        crate::out_dir::write_file(&dir, &rel, bytes)?;
        written.push(rel);
    }
    if out.json {
        out.print_json(&serde_json::json!({ "lane": lane.name, "release": release.id, "out": dir.display().to_string(), "files": written }));
    } else {
        crate::outln!(
            "rendered lane {} at release {} into {} ({} files)",
            lane.name,
            release.id,
            dir.display(),
            written.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
