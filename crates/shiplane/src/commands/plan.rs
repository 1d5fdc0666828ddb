//! `shiplane plan`: fingerprints every service at head and says which are affected (must be
//! built) and which are reused or unchanged, as a table, JSON, or a dynamic CI pipeline.
//!
//! Git is read in process (`shiplane-git`); the decision is the pure `shiplane-plan` core. A
//! shallow clone is refused (or deepened with `--deepen`), never guessed about.

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};
use shiplane_git::{GitError, Repo};
use shiplane_plan::{
    Base, EmitOptions, Explanation, Plan, PlanSpec, Rule, TreeListing, build_jobs, buildkite,
    github_matrix, tekton,
};

use crate::cli::{PlanArgs, PlanFormat};
use crate::intent_file::{self, repo_root};
use crate::output::{CliError, EXIT_FAILURE, EXIT_INVALID, Output};
use crate::planning::plan_spec;

/// Version of the `--json` document; bump on incompatible changes.
const PLAN_JSON_VERSION: u32 = 1;

struct Commit {
    rev: String,
    id: shiplane_plan::Oid,
}

pub fn run(args: &PlanArgs, intent: Option<&Path>, out: &Output) -> Result<ExitCode, CliError> {
    let (file, eff) = intent_file::load_valid(intent, out)?;
    let spec = plan_spec(&eff);
    let intent_dir = file
        .path
        .parent()
        .map_or_else(|| Path::new(".").to_path_buf(), Path::to_path_buf);
    let root = repo_root(&std::fs::canonicalize(&intent_dir).unwrap_or(intent_dir));

    let mut repo = open(&root)?;
    if let Some(depth) = args.deepen {
        if repo.is_shallow() {
            eprintln!("deepening the shallow clone by {depth} commits…");
            shiplane_git::deepen(&root, depth).map_err(git_error)?;
            repo = open(&root)?;
        }
    }
    let head = Commit {
        rev: args.head.clone(),
        id: repo.resolve(&args.head).map_err(git_error)?,
    };
    let base = match &args.base {
        Some(rev) => Some(Commit {
            rev: rev.clone(),
            id: repo.resolve(rev).map_err(git_error)?,
        }),
        None => None,
    };
    if base.is_none() {
        return Err(CliError::new(
            EXIT_INVALID,
            "nothing to compare with: no --base was given and there is no artifact index yet",
        )
        .help("pass the commit this one builds on, e.g. `--base origin/main` or `--base HEAD~1`; once artifacts are published, plan compares against the index instead"));
    }
    let listings = repo
        .tree_listings(
            &std::iter::once(head.id)
                .chain(base.as_ref().map(|b| b.id))
                .collect::<Vec<_>>(),
        )
        .map_err(git_error)?;
    let head_listing = &listings[0];
    let base_listing = listings.get(1);
    let rel_intent = file.path.canonicalize().ok().and_then(|p| {
        p.strip_prefix(root.canonicalize().unwrap_or_else(|_| root.clone()))
            .ok()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
    });
    let base_spec = match (base_listing, &rel_intent) {
        // The common case: the intent did not change, so neither did its spec; skip re-reading.
        (Some(l), Some(rel))
            if blob_at(l, rel).is_some() && blob_at(l, rel) == blob_at(head_listing, rel) =>
        {
            Some(spec.clone())
        }
        (Some(l), Some(rel)) => intent_at(&repo, l, rel),
        _ => None,
    };
    let is_ancestor = match &base {
        Some(b) => repo.is_ancestor(b.id, head.id).map_err(git_error)?,
        None => true,
    };
    if !is_ancestor {
        if let Some(b) = &base {
            eprintln!(
                "warning: {} is not an ancestor of {}; comparing the two trees directly, so changes on both sides count",
                b.rev, head.rev
            );
        }
    }

    if let Some(service) = &args.explain {
        let Some(base_listing) = base_listing else {
            return Err(CliError::new(EXIT_INVALID, "--explain needs --base"));
        };
        if !spec.services.contains_key(service) {
            return Err(CliError::new(
                EXIT_INVALID,
                format!("`{service}` is not a service of {}", file.display),
            )
            .help(format!(
                "services are: {}",
                spec.services.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let explanation = shiplane_plan::explain(
            &spec,
            service,
            Base {
                listing: base_listing,
                spec: base_spec.as_ref(),
            },
            head_listing,
        )
        .map_err(|e| CliError::new(EXIT_INVALID, e.to_string()))?;
        print_explanation(&explanation, out);
        return Ok(ExitCode::SUCCESS);
    }

    let plan = shiplane_plan::plan(
        &spec,
        head_listing,
        base_listing.map(|l| Base {
            listing: l,
            spec: base_spec.as_ref(),
        }),
        None,
    )
    .map_err(|e| CliError::new(EXIT_INVALID, e.to_string()))?;

    let format = if out.json {
        PlanFormat::Json
    } else {
        args.format
    };
    let head_hex = head.id.to_hex();
    match format {
        PlanFormat::Table => print_table(&plan, &head, base.as_ref(), out),
        PlanFormat::Json => {
            out.print_json(&plan_json(&plan, &spec, &head, base.as_ref(), is_ancestor)?)
        }
        PlanFormat::GithubMatrix => {
            let jobs = build_jobs(&plan, &spec, &head_hex)
                .map_err(|e| CliError::new(EXIT_INVALID, e.to_string()))?;
            println!(
                "{}",
                serde_json::to_string(&github_matrix(&jobs)).unwrap_or_default()
            );
        }
        PlanFormat::Buildkite | PlanFormat::Tekton => {
            let jobs = build_jobs(&plan, &spec, &head_hex)
                .map_err(|e| CliError::new(EXIT_INVALID, e.to_string()))?;
            let mut opts = EmitOptions::new(head_hex.clone());
            opts.promote_lane.clone_from(&args.promote_lane);
            let text = if format == PlanFormat::Buildkite {
                buildkite(&jobs, &opts)
            } else {
                tekton(&jobs, &opts)
            };
            print!("{text}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn open(root: &Path) -> Result<Repo, CliError> {
    Repo::discover(root).map_err(|e| {
        CliError::new(EXIT_FAILURE, e.to_string())
            .help("run `shiplane plan` inside the source repository (the one holding the intent)")
    })
}

fn git_error(e: GitError) -> CliError {
    let shallow = matches!(e, GitError::Shallow { .. });
    let status = if matches!(e, GitError::RevisionNotFound { .. }) {
        EXIT_INVALID
    } else {
        EXIT_FAILURE
    };
    let err = CliError::new(status, e.to_string());
    if shallow {
        err.help("this is a shallow clone: fetch the history (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout), or pass `--deepen N`")
    } else {
        err
    }
}

fn blob_at(listing: &TreeListing, rel: &str) -> Option<shiplane_plan::Oid> {
    listing.find(rel).map(|i| listing.get(i).oid)
}

/// The intent as it was at the base commit, to tell "intent changed" and "new service" apart.
/// A base without an intent, or with one that does not parse, gives `None`.
fn intent_at(repo: &Repo, listing: &TreeListing, rel: &str) -> Option<PlanSpec> {
    let entry = listing.get(listing.find(rel)?);
    let bytes = repo.read_blob(entry.oid).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    shiplane_intent::load_str(&text)
        .valid_effective()
        .map(plan_spec)
}

fn plan_json(
    plan: &Plan,
    spec: &PlanSpec,
    head: &Commit,
    base: Option<&Commit>,
    is_ancestor: bool,
) -> Result<Value, CliError> {
    let head_hex = head.id.to_hex();
    let jobs = build_jobs(plan, spec, &head_hex)
        .map_err(|e| CliError::new(EXIT_INVALID, e.to_string()))?;
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
    }))
}

fn short(hex: &str) -> &str {
    hex.get(..7).unwrap_or(hex)
}

fn print_table(plan: &Plan, head: &Commit, base: Option<&Commit>, out: &Output) {
    let head_hex = head.id.to_hex();
    match base {
        Some(b) => println!(
            "Plan for {} ({}) against {} ({})",
            head.rev,
            short(&head_hex),
            b.rev,
            short(&b.id.to_hex())
        ),
        None => println!("Plan for {} ({})", head.rev, short(&head_hex)),
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
    println!();
    println!(
        "  {:<6} {:<width$}  {:<12}  {}",
        "ACTION", "SERVICE", "FINGERPRINT", "WHY"
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
        println!("  {styled} {service:<width$}  {fp:<12}  {why}");
    }
    println!();
    println!(
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

fn print_explanation(e: &Explanation, out: &Output) {
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
        }));
        return;
    }
    if e.unchanged() {
        println!(
            "{}: fingerprint unchanged ({}); nothing to rebuild",
            e.service,
            e.head_fingerprint.short()
        );
        return;
    }
    println!(
        "{}: fingerprint {} → {}",
        e.service,
        e.base_fingerprint
            .map_or_else(|| "(new)".to_owned(), |f| f.short()),
        e.head_fingerprint.short()
    );
    for g in &e.groups {
        println!("  {}:", g.rule);
        if g.files.is_empty() {
            println!("    the service's build settings changed in the intent");
        }
        for f in &g.files {
            println!(
                "    {:<9} {}",
                format!("{:?}", f.change).to_lowercase(),
                f.path
            );
        }
    }
}
