//! `shiplane plan`: fingerprints every service at head and says which are affected (must be
//! built) and which are reused or unchanged, as a table, JSON, or a dynamic CI pipeline.
//!
//! Git is read in process (`shiplane-git`); the decision is the pure `shiplane-plan` core. A
//! shallow clone is refused (or deepened with `--deepen`), never guessed about.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};
use shiplane_git::{BoundedBlob, FileAtCommit, GitError, Repo};
use shiplane_intent::INTENT_FILE_NAMES;
use shiplane_plan::{
    Base, BaseDiff, ChangedPath, CompiledSpec, EmitOptions, Explanation, Plan, PlanError, PlanSpec,
    REPO_URL_UNSET, Rule, TreeListing, build_jobs, buildkite, github_matrix, tekton,
};

use crate::cli::{PlanArgs, PlanFormat};
use crate::intent_file::{self, IntentFile, repo_root};
use crate::output::{CliError, ErrorKind, Output};
use crate::planning::plan_spec;

/// Version of the `--json` document; bump on incompatible changes.
const PLAN_JSON_VERSION: u32 = 1;

struct Commit {
    rev: String,
    id: shiplane_plan::Oid,
}

/// The intent side of a plan.
struct Intent {
    file: IntentFile,
    spec: PlanSpec,
    compiled: Result<CompiledSpec, PlanError>,
}

/// The git side of a plan: head's files and how the base differs from them. Plain data, so it
/// can be prepared on another thread (the repository handle itself cannot leave its thread).
struct Trees {
    base: Commit,
    head_listing: TreeListing,
    /// Files that differ between base and head, sorted by path.
    changes: Vec<ChangedPath>,
    is_ancestor: bool,
    base_intent: BaseIntent,
}

/// The intent file as it was at the base commit.
enum BaseIntent {
    /// The same blob as at head (the common case): the base spec is the head spec.
    Unchanged,
    /// It changed; its text at the base.
    Changed(Vec<u8>),
    /// No intent there (or it could not be read): the head intent is applied to both trees.
    Missing,
}

pub fn run(args: &PlanArgs, intent: Option<&Path>, out: &Output) -> Result<ExitCode, CliError> {
    crate::support::timing("plan: start");
    let json_output = out.json || args.format == PlanFormat::Json;
    let place = IntentPlace::find(intent)?;
    let root = &place.root;

    if args.base.is_none() && args.explain.is_some() {
        return Err(CliError::new(
            ErrorKind::Invalid,
            "--explain needs --base REV: it lists the files that changed since that commit",
        )
        .help("for example `shiplane plan --base HEAD~1 --explain api`"));
    }
    // `--deepen` fetches first: `--head` itself (and so the intent the plan reads from it) may
    // lie beyond the shallow boundary.
    if let Some(depth) = args.deepen {
        let repo = open(root)?;
        if repo.is_shallow() {
            eprintln!("deepening the shallow clone by {depth} commits…");
            shiplane_git::deepen(root, depth).map_err(git_error)?;
        }
    }
    let mut warnings = Vec::new();
    let (head, intent_file) = {
        let repo = open(root)?;
        let head = Commit {
            rev: args.head.clone(),
            id: repo.resolve(&args.head).map_err(git_error)?,
        };
        let file = place.read_at(&repo, &head, &mut warnings)?;
        (head, file)
    };
    crate::support::timing("plan: intent read from the head commit");
    let rel_intent = place.rel.clone().or_else(|| intent_file.rel.clone());
    if args.base.is_none() {
        return run_against_index(args, intent_file.file, &head, root, &warnings, out);
    }

    // Checking the intent and reading git are independent and take about as long as each
    // other, so git is read on a second thread (with its own repository handle: one cannot
    // leave its thread). The intent stays on this one: it makes many small allocations, which
    // the main allocator arena serves more cheaply. An invalid intent is reported before any
    // git problem.
    let (intent, trees) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| read_trees(root, &head, args, rel_intent.as_deref()));
        let intent = load_intent(intent_file.file, out);
        crate::support::timing("plan: intent checked and compiled (main thread)");
        let trees = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        intent.map(|intent| (intent, trees))
    })?;
    let Intent {
        file,
        spec,
        compiled,
    } = intent;
    let Trees {
        base,
        head_listing,
        changes,
        is_ancestor,
        base_intent,
    } = trees?;
    crate::support::timing("plan: git trees read and diffed (second thread, joined)");
    let compiled = compiled.map_err(|e| CliError::new(ErrorKind::Invalid, e.to_string()))?;
    let base_spec: Option<Cow<'_, PlanSpec>> = match base_intent {
        BaseIntent::Unchanged => Some(Cow::Borrowed(&spec)),
        BaseIntent::Changed(bytes) => intent_spec(bytes).map(Cow::Owned),
        BaseIntent::Missing => None,
    };
    if !is_ancestor {
        warnings.push(format!(
            "{} is not an ancestor of {}; comparing the two trees directly, so changes on both sides count",
            base.rev, head.rev
        ));
    }
    if !json_output {
        for w in &warnings {
            eprintln!("warning: {w}");
        }
    }

    if let Some(service) = &args.explain {
        if !spec.services.contains_key(service) {
            return Err(CliError::new(
                ErrorKind::Invalid,
                format!("`{service}` is not a service of {}", file.display),
            )
            .help(format!(
                "services are: {}",
                spec.services.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let base_listing = head_listing.before(&changes);
        let explanation = shiplane_plan::explain(
            &spec,
            service,
            Base {
                listing: &base_listing,
                spec: base_spec.as_deref(),
            },
            &head_listing,
        )
        .map_err(|e| CliError::new(ErrorKind::Invalid, e.to_string()))?;
        print_explanation(&explanation, &warnings, out);
        return Ok(ExitCode::SUCCESS);
    }

    let plan = shiplane_plan::plan_diff_compiled(
        &spec,
        &compiled,
        &head_listing,
        BaseDiff {
            changes: &changes,
            spec: base_spec.as_deref(),
        },
        None,
    )
    .map_err(|e| CliError::new(ErrorKind::Invalid, e.to_string()))?;

    crate::support::timing("plan: planned");
    let context = Context {
        head: &head,
        base: Some(&base),
        is_ancestor,
        warnings: &warnings,
        repo_url: source_url(root),
    };
    emit(&plan, &spec, &context, args, out)?;
    crate::support::timing("plan: printed");
    // The process ends right after this: returning the listing (100,000 paths), the intent's
    // spec and the plan to the allocator one by one would only delay the exit.
    std::mem::forget((head_listing, changes, spec, compiled, plan, file));
    Ok(ExitCode::SUCCESS)
}

/// Where the intent lives: the repository root and, when known before reading any commit, the
/// intent's repository-relative path.
struct IntentPlace {
    root: PathBuf,
    /// `--intent PATH`, as given.
    explicit: Option<PathBuf>,
    /// The explicit path relative to the root; `None` without `--intent` (the name is looked up
    /// in the head commit) or when the path is outside the repository.
    rel: Option<String>,
}

/// The intent the plan uses, and its repository-relative path when it was read from a commit.
struct HeadIntent {
    file: IntentFile,
    rel: Option<String>,
}

impl IntentPlace {
    fn find(explicit: Option<&Path>) -> Result<IntentPlace, CliError> {
        let Some(path) = explicit else {
            let cwd = std::env::current_dir().map_err(|e| {
                CliError::new(
                    ErrorKind::Failure,
                    format!("cannot read the working directory: {e}"),
                )
            })?;
            return Ok(IntentPlace {
                root: repo_root(&cwd),
                explicit: None,
                rel: None,
            });
        };
        let dir = path
            .parent()
            .map_or_else(|| Path::new(".").to_path_buf(), Path::to_path_buf);
        let root = repo_root(&std::fs::canonicalize(&dir).unwrap_or(dir));
        let rel = std::fs::canonicalize(path).ok().and_then(|p| {
            p.strip_prefix(root.canonicalize().unwrap_or_else(|_| root.clone()))
                .ok()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
        });
        Ok(IntentPlace {
            root,
            explicit: Some(path.to_path_buf()),
            rel,
        })
    }

    /// The intent as it is in `head`'s tree (never the working tree, which may hold edits the
    /// commit does not), read within the same size bound as a file. Adds a warning when the
    /// working tree's copy differs. An `--intent` outside the repository is not versioned with
    /// the commits, so it is read from the filesystem.
    fn read_at(
        &self,
        repo: &Repo,
        head: &Commit,
        warnings: &mut Vec<String>,
    ) -> Result<HeadIntent, CliError> {
        if let (Some(path), None) = (&self.explicit, &self.rel) {
            return Ok(HeadIntent {
                file: intent_file::read(Some(path))?,
                rel: None,
            });
        }
        let candidates: Vec<&str> = match &self.rel {
            Some(rel) => vec![rel.as_str()],
            None => INTENT_FILE_NAMES.to_vec(),
        };
        for rel in &candidates {
            let display = format!("{}:{rel}", head.rev);
            match repo
                .read_file_at(head.id, rel, intent_file::max_bytes())
                .map_err(git_error)?
            {
                FileAtCommit::Missing => {}
                FileAtCommit::TooLarge { size } => {
                    return Err(intent_file::too_large(&display, size));
                }
                FileAtCommit::Found { bytes, .. } => {
                    let path = self.root.join(rel);
                    match intent_file::working_copy(&path) {
                        Some(working) if working == bytes => {}
                        Some(_) => warnings.push(format!(
                            "{rel} in the working tree differs from {display} ({}); the plan uses the committed intent",
                            short(&head.id.to_hex())
                        )),
                        None => warnings.push(format!(
                            "{rel} is not in the working tree; the plan uses {display} ({})",
                            short(&head.id.to_hex())
                        )),
                    }
                    let file = intent_file::from_bytes(path, display, bytes)?;
                    return Ok(HeadIntent {
                        file,
                        rel: Some((*rel).to_owned()),
                    });
                }
            }
        }
        Err(CliError::new(
            ErrorKind::Invalid,
            format!(
                "no intent file in commit {} ({})",
                head.rev,
                short(&head.id.to_hex())
            ),
        )
        .help(format!(
            "plan reads the intent from the commit it plans; looked for {}. Commit the intent, or pass `--intent PATH` for one elsewhere in the repository",
            candidates.join(", ")
        )))
    }
}

/// What the output needs besides the plan.
struct Context<'a> {
    head: &'a Commit,
    base: Option<&'a Commit>,
    is_ancestor: bool,
    warnings: &'a [String],
    /// The source repository's `origin` URL, for the Tekton run's `repo-url`.
    repo_url: Option<String>,
}

/// Prints a plan in the format asked for.
fn emit(
    plan: &Plan,
    spec: &PlanSpec,
    cx: &Context<'_>,
    args: &PlanArgs,
    out: &Output,
) -> Result<(), CliError> {
    let format = if out.json {
        PlanFormat::Json
    } else {
        args.format
    };
    let head_hex = cx.head.id.to_hex();
    match format {
        PlanFormat::Table => print_table(plan, cx.head, cx.base, out),
        PlanFormat::Json => {
            out.print_json(&plan_json(plan, spec, cx)?);
        }
        PlanFormat::GithubMatrix => {
            let jobs = build_jobs(plan, spec, &head_hex)
                .map_err(|e| CliError::new(ErrorKind::Invalid, e.to_string()))?;
            crate::outln!(
                "{}",
                serde_json::to_string(&github_matrix(&jobs)).unwrap_or_default()
            );
        }
        PlanFormat::Buildkite | PlanFormat::Tekton => {
            let jobs = build_jobs(plan, spec, &head_hex)
                .map_err(|e| CliError::new(ErrorKind::Invalid, e.to_string()))?;
            let mut opts = EmitOptions::new(head_hex.clone());
            opts.promote_lane.clone_from(&args.promote_lane);
            opts.repo_url = args.repo_url.clone().or_else(|| cx.repo_url.clone());
            if format == PlanFormat::Tekton && opts.repo_url.is_none() && !jobs.is_empty() {
                eprintln!(
                    "warning: no clone URL for the Tekton run (no --repo-url and no `origin` remote): its repo-url is `{REPO_URL_UNSET}`, which the checkout task refuses; pass --repo-url URL"
                );
            }
            let text = if format == PlanFormat::Buildkite {
                buildkite(&jobs, &opts)
            } else {
                tekton(&jobs, &opts)
            };
            crate::output::write_stdout(&text);
        }
    }
    Ok(())
}

/// The source repository's `remote.origin.url`, for the Tekton run's `repo-url`, with any user
/// and password taken out of an `scheme://user:secret@host/…` address: credentials must never
/// end up in a pipeline document (the cluster clones with its own). `None` without a remote.
fn source_url(root: &Path) -> Option<String> {
    let url = Repo::discover(root).ok()?.remote_url("origin")?;
    Some(without_userinfo(&url))
}

/// `url` without the `user[:password]@` of its authority (only for `scheme://` addresses; an
/// scp-like `git@host:path` names a user, not a secret).
fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// Without `--base`: a service is affected when the artifact index has no image for its head
/// fingerprint, and reused (with that image) when it has one (SPEC §6).
fn run_against_index(
    args: &PlanArgs,
    file: IntentFile,
    head: &Commit,
    root: &Path,
    warnings: &[String],
    out: &Output,
) -> Result<ExitCode, CliError> {
    let (_file, eff) = intent_file::validate(file, out)?;
    let spec = plan_spec(&eff);
    let Some(index) = crate::artifact_index::load(&eff)? else {
        return Err(CliError::new(
            ErrorKind::Invalid,
            "nothing to compare with: no --base was given and the intent names no GitOps repository for the artifact index",
        )
        .help("pass the commit this one builds on, e.g. `--base origin/main` or `--base HEAD~1`, or set `defaults.gitops.repo` so `shiplane publish` records artifacts there"));
    };
    let json_output = out.json || args.format == PlanFormat::Json;
    if !json_output {
        for w in warnings {
            eprintln!("warning: {w}");
        }
    }
    let repo = open(root)?;
    let head_listing = repo.tree_listing(head.id).map_err(git_error)?;
    let plan = shiplane_plan::plan(&spec, &head_listing, None, Some(&index))
        .map_err(|e| CliError::new(ErrorKind::Invalid, e.to_string()))?;
    let context = Context {
        head,
        base: None,
        is_ancestor: true,
        warnings,
        repo_url: source_url(root),
    };
    emit(&plan, &spec, &context, args, out)?;
    Ok(ExitCode::SUCCESS)
}

/// Checks the intent read from the head commit, and compiles its inputs for planning.
fn load_intent(file: IntentFile, out: &Output) -> Result<Intent, CliError> {
    let (file, eff) = intent_file::validate(file, out)?;
    let spec = plan_spec(&eff);
    let compiled = CompiledSpec::new(&spec);
    Ok(Intent {
        file,
        spec,
        compiled,
    })
}

/// Opens the repository, resolves base, lists head's tree, diffs base against it and reads the
/// base's intent file (at `rel_intent`, within the intent's size bound) when it changed.
fn read_trees(
    root: &Path,
    head: &Commit,
    args: &PlanArgs,
    rel_intent: Option<&str>,
) -> Result<Trees, CliError> {
    let repo = open(root)?;
    let Some(rev) = &args.base else {
        return Err(CliError::new(
            ErrorKind::Invalid,
            "nothing to compare with: no --base was given and there is no artifact index yet",
        )
        .help("pass the commit this one builds on, e.g. `--base origin/main` or `--base HEAD~1`; once artifacts are published, plan compares against the index instead"));
    };
    let base = Commit {
        rev: rev.clone(),
        id: repo.resolve(rev).map_err(git_error)?,
    };
    let head_listing = repo.tree_listing(head.id).map_err(git_error)?;
    let changes = repo.diff_trees(base.id, head.id).map_err(git_error)?;
    let is_ancestor = repo.is_ancestor(base.id, head.id).map_err(git_error)?;
    let base_intent = match rel_intent {
        Some(rel) => match changes.binary_search_by(|c| c.path.as_str().cmp(rel)) {
            Ok(i) => changes[i]
                .base
                .and_then(|(blob, _)| repo.read_blob_within(blob, intent_file::max_bytes()).ok())
                .map_or(BaseIntent::Missing, |bounded| match bounded {
                    BoundedBlob::Bytes(bytes) => BaseIntent::Changed(bytes),
                    // Too large to be an intent: as if there were none at the base.
                    BoundedBlob::TooLarge { .. } => BaseIntent::Missing,
                }),
            Err(_) if head_listing.find(rel).is_some() => BaseIntent::Unchanged,
            Err(_) => BaseIntent::Missing,
        },
        None => BaseIntent::Missing,
    };
    Ok(Trees {
        base,
        head_listing,
        changes,
        is_ancestor,
        base_intent,
    })
}

fn open(root: &Path) -> Result<Repo, CliError> {
    Repo::discover(root).map_err(|e| {
        CliError::new(ErrorKind::Failure, e.to_string())
            .help("run `shiplane plan` inside the source repository (the one holding the intent)")
    })
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "shaped for `map_err(git_error)`"
)]
fn git_error(e: GitError) -> CliError {
    let shallow = matches!(e, GitError::Shallow { .. });
    let status = if matches!(e, GitError::RevisionNotFound { .. }) {
        ErrorKind::Invalid
    } else {
        ErrorKind::Failure
    };
    let err = CliError::new(status, e.to_string());
    if shallow {
        err.help("this is a shallow clone: fetch the history (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout), or pass `--deepen N`")
    } else {
        err
    }
}

/// The plan spec of an intent's text (the base's), to tell "intent changed" and "new service"
/// apart. An intent that does not parse gives `None`.
fn intent_spec(bytes: Vec<u8>) -> Option<PlanSpec> {
    let text = String::from_utf8(bytes).ok()?;
    shiplane_intent::load_str(&text)
        .valid_effective()
        .map(plan_spec)
}

fn plan_json(plan: &Plan, spec: &PlanSpec, cx: &Context<'_>) -> Result<Value, CliError> {
    let (head, base, is_ancestor) = (cx.head, cx.base, cx.is_ancestor);
    let head_hex = head.id.to_hex();
    let jobs = build_jobs(plan, spec, &head_hex)
        .map_err(|e| CliError::new(ErrorKind::Invalid, e.to_string()))?;
    Ok(json!({
        "plan_version": PLAN_JSON_VERSION,
        "head": { "rev": head.rev, "commit": head_hex },
        "base": base.map(|b| json!({ "rev": b.rev, "commit": b.id.to_hex(), "is_ancestor": is_ancestor })),
        "affected": plan.affected.iter().zip(&jobs).map(|(a, j)| json!({
            "service": a.service,
            "fingerprint": a.fingerprint.to_hex(),
            "reasons": a.reasons.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "image": j.image,
            "tag": j.tag,
            "context": j.context,
            "dockerfile": j.dockerfile,
            "target": j.target,
            "args": j.args,
        })).collect::<Vec<_>>(),
        "reused": plan.reused.iter().map(|r| json!({
            "service": r.service,
            "fingerprint": r.fingerprint.to_hex(),
            "image": r.artifact.image,
            "tag": r.artifact.tag,
            "digest": r.artifact.digest,
            "source_commit": r.artifact.source_commit,
        })).collect::<Vec<_>>(),
        "unchanged": plan.unchanged.iter().map(|u| json!({
            "service": u.service,
            "fingerprint": u.fingerprint.to_hex(),
        })).collect::<Vec<_>>(),
        "removed": plan.removed,
        "warnings": cx.warnings,
    }))
}

fn short(hex: &str) -> &str {
    hex.get(..7).unwrap_or(hex)
}

fn print_table(plan: &Plan, head: &Commit, base: Option<&Commit>, out: &Output) {
    let head_hex = head.id.to_hex();
    match base {
        Some(b) => crate::outln!(
            "Plan for {} ({}) against {} ({})",
            head.rev,
            short(&head_hex),
            b.rev,
            short(&b.id.to_hex())
        ),
        None => crate::outln!("Plan for {} ({})", head.rev, short(&head_hex)),
    }
    let mut rows: Vec<(&str, &str, String, String)> = Vec::new();
    for a in &plan.affected {
        rows.push((
            "build",
            &a.service,
            a.fingerprint.short(),
            a.reasons
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    for r in &plan.reused {
        rows.push((
            "reuse",
            &r.service,
            r.fingerprint.short(),
            format!(
                "{}:{} from {}",
                r.artifact.image,
                r.artifact.tag,
                short(&r.artifact.source_commit)
            ),
        ));
    }
    for u in &plan.unchanged {
        rows.push(("same", &u.service, u.fingerprint.short(), String::new()));
    }
    for r in &plan.removed {
        rows.push((
            "gone",
            r,
            String::new(),
            "no longer in the intent".to_owned(),
        ));
    }
    let width = rows.iter().map(|r| r.1.len()).max().unwrap_or(7).max(7);
    crate::outln!();
    crate::outln!(
        "  {:<6} {:<width$}  {:<12}  WHY",
        "ACTION",
        "SERVICE",
        "FINGERPRINT"
    );
    for (action, service, fp, why) in &rows {
        let styled = match *action {
            "build" => out.paint(
                anstyle::Style::new()
                    .fg_color(Some(anstyle::AnsiColor::BrightYellow.into()))
                    .bold(),
                &format!("{action:<6}"),
            ),
            "reuse" | "same" => out.paint(
                anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::BrightGreen.into())),
                &format!("{action:<6}"),
            ),
            _ => format!("{action:<6}"),
        };
        crate::outln!("  {styled} {service:<width$}  {fp:<12}  {why}");
    }
    crate::outln!();
    crate::outln!(
        "{} to build, {} reused, {} unchanged{}",
        plan.affected.len(),
        plan.reused.len(),
        plan.unchanged.len(),
        if plan.removed.is_empty() {
            String::new()
        } else {
            format!(", {} removed", plan.removed.len())
        }
    );
}

fn rule_json(rule: &Rule) -> Value {
    match rule {
        Rule::Intent => json!({ "rule": "intent" }),
        Rule::Shared => json!({ "rule": "shared" }),
        Rule::OwnPaths => json!({ "rule": "own_paths" }),
        Rule::Library(l) => json!({ "rule": "library", "name": l }),
        Rule::Dependency(d) => json!({ "rule": "dependency", "name": d }),
    }
}

fn print_explanation(e: &Explanation, warnings: &[String], out: &Output) {
    if out.json {
        let groups: Vec<Value> = e
            .groups
            .iter()
            .map(|g| {
                let mut v = rule_json(&g.rule);
                v["files"] = g.files.iter().map(|f| json!({ "path": f.path, "change": format!("{:?}", f.change).to_lowercase() })).collect();
                v
            })
            .collect();
        out.print_json(&json!({
            "service": e.service,
            "base_fingerprint": e.base_fingerprint.map(|f| f.to_hex()),
            "head_fingerprint": e.head_fingerprint.to_hex(),
            "changed": !e.unchanged(),
            "groups": groups,
            "warnings": warnings,
        }));
        return;
    }
    if e.unchanged() {
        crate::outln!(
            "{}: fingerprint unchanged ({}); nothing to rebuild",
            e.service,
            e.head_fingerprint.short()
        );
        return;
    }
    crate::outln!(
        "{}: fingerprint {} → {}",
        e.service,
        e.base_fingerprint
            .map_or_else(|| "(new)".to_owned(), |f| f.short()),
        e.head_fingerprint.short()
    );
    for g in &e.groups {
        crate::outln!("  {}:", g.rule);
        if g.files.is_empty() {
            crate::outln!("    the service's build settings changed in the intent");
        }
        for f in &g.files {
            crate::outln!(
                "    {:<9} {}",
                format!("{:?}", f.change).to_lowercase(),
                f.path
            );
        }
    }
}
