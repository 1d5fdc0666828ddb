//! `shiplane init`: proposes a starter intent by scanning the repository. Prints it; writes
//! `shiplane.yaml` only with `--write`, and never over an existing intent without `--force`.

use std::path::Path;
use std::process::ExitCode;

use shiplane_init::{DirSource, InitError, propose, render_yaml, write_intent};

use crate::cli::InitArgs;
use crate::intent_file::{display_path, repo_root};
use crate::output::{CliError, ErrorKind, Output};

pub fn run(args: &InitArgs, _intent: Option<&Path>, out: &Output) -> Result<ExitCode, CliError> {
    let root = match &args.dir {
        Some(d) => d.clone(),
        None => repo_root(&std::env::current_dir().map_err(|e| {
            CliError::new(
                ErrorKind::Failure,
                format!("cannot read the working directory: {e}"),
            )
        })?),
    };
    let root = root.canonicalize().map_err(|e| {
        CliError::new(
            ErrorKind::Invalid,
            format!("cannot scan {}: {e}", root.display()),
        )
        .help("pass an existing directory")
    })?;
    let source = DirSource::new(&root).map_err(|e| {
        CliError::new(
            ErrorKind::Failure,
            format!("cannot scan {}: {e}", root.display()),
        )
    })?;
    if source.truncated() {
        eprintln!("warning: the repository is very large; only the first files were scanned");
    }
    let project = root
        .file_name()
        .map_or_else(|| "app".to_owned(), |n| n.to_string_lossy().into_owned());
    let proposal = propose(&source, &project);
    let yaml = render_yaml(&proposal);
    // The proposal must pass our own check; if it does not, that is a bug worth failing on.
    let loaded = shiplane_intent::load_str(&yaml);
    if !loaded.is_valid() {
        return Err(CliError::new(
            ErrorKind::Failure,
            format!(
                "internal error: the proposed intent does not pass `shiplane check` ({})",
                loaded
                    .diagnostics
                    .iter()
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ));
    }
    let written = if args.write {
        match write_intent(&root, &yaml, args.force) {
            Ok(p) => Some(p),
            Err(InitError::AlreadyExists { existing }) => {
                return Err(CliError::new(
                    ErrorKind::Invalid,
                    format!(
                        "an intent file already exists at {}",
                        display_path(&existing)
                    ),
                )
                .help("nothing was written; pass --force to replace it, or edit it by hand"));
            }
            Err(e) => return Err(CliError::new(ErrorKind::Failure, e.to_string())),
        }
    } else {
        None
    };
    if out.json {
        out.print_json(&serde_json::json!({
            "root": root.display().to_string(),
            "services": proposal.services.iter().map(|s| &s.name).collect::<Vec<_>>(),
            "libraries": proposal.libraries.iter().map(|l| &l.name).collect::<Vec<_>>(),
            "written": written.as_ref().map(|p| p.display().to_string()),
            "intent": yaml,
        }));
    } else if let Some(p) = written {
        crate::outln!(
            "{} wrote {} — {} services, {} libraries. Next: `shiplane check`, then point `lanes.dev.gitops.repo` at your GitOps repository.",
            out.paint(Output::ok_style(), "✓"),
            display_path(&p),
            proposal.services.len(),
            proposal.libraries.len()
        );
    } else {
        crate::output::write_stdout(&yaml);
        eprintln!("\n# This is a proposal only. Write it with `shiplane init --write`.");
    }
    Ok(ExitCode::SUCCESS)
}
