//! `shiplane check`: validates the intent and reports every problem at once.

use std::path::Path;
use std::process::ExitCode;

use shiplane_intent::diagnostic;

use crate::cli::CheckArgs;
use crate::intent_file;
use crate::output::{CliError, ErrorKind, Output};

pub fn run(args: &CheckArgs, intent: Option<&Path>, out: &Output) -> Result<ExitCode, CliError> {
    let file = intent_file::read(intent)?;
    let loaded = shiplane_intent::load_str(&file.text);
    let (errors, warnings) = diagnostic::counts(&loaded.diagnostics);
    let valid = loaded.is_valid();

    if out.json {
        let mut doc = serde_json::json!({
            "file": file.display,
            "valid": valid,
            "errors": errors,
            "warnings": warnings,
            "diagnostics": diagnostic::to_json(&loaded.diagnostics, &file.display),
        });
        if args.show_effective {
            doc["effective"] = loaded.effective.as_ref().map_or(
                serde_json::Value::Null,
                shiplane_intent::EffectiveIntent::to_json_without_credentials,
            );
        }
        out.print_json(&doc);
    } else {
        eprint!(
            "{}",
            diagnostic::render_human(
                &loaded.diagnostics,
                &file.display,
                &file.text,
                out.color_stderr()
            )
        );
        // With --show-effective stdout holds the model alone (to pipe into `jq`); the verdict
        // goes to stderr.
        if args.show_effective
            && let Some(eff) = &loaded.effective
        {
            // Never the model itself: an address may carry a credential (refused above, but
            // the model of an invalid intent is printed too).
            let text =
                serde_json::to_string_pretty(&eff.to_json_without_credentials()).map_err(|e| {
                    CliError::new(
                        ErrorKind::Failure,
                        format!("cannot print the effective intent: {e}"),
                    )
                })?;
            crate::outln!("{text}");
        }
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        if valid {
            let eff = loaded.effective.as_ref();
            let services = eff.map_or(0, |e| e.services.len());
            let lanes = eff.map_or(0, |e| e.lanes.len());
            let templates = eff.map_or(0, |e| e.lanes.values().filter(|l| l.template).count());
            let tmpl = if templates > 0 {
                format!(" ({templates} template)")
            } else {
                String::new()
            };
            let warn = if warnings > 0 {
                format!(", {}", plural(warnings, "warning"))
            } else {
                String::new()
            };
            let verdict = format!(
                "{} {}: valid — {}, {}{tmpl}{warn}",
                out.paint(Output::ok_style(), "✓"),
                file.display,
                plural(services, "service"),
                plural(lanes, "lane"),
            );
            if args.show_effective {
                eprintln!("{verdict}");
            } else {
                crate::outln!("{verdict}");
            }
        } else {
            eprintln!(
                "{}: {} has {}{}",
                if out.color_stderr() {
                    "\u{1b}[1;91merror\u{1b}[0m"
                } else {
                    "error"
                },
                file.display,
                plural(errors, "error"),
                if warnings > 0 {
                    format!(" and {}", plural(warnings, "warning"))
                } else {
                    String::new()
                },
            );
        }
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ErrorKind::Invalid.exit()
    })
}

#[cfg(test)]
mod tests {
    /// `check` refuses lanes whose directory overlaps Shiplane's own data; the list it uses must
    /// be where that data is really written.
    #[test]
    fn reserved_gitops_paths_are_where_shiplane_writes_its_own_data() {
        let reserved: Vec<&str> = shiplane_intent::RESERVED_GITOPS_PATHS
            .iter()
            .map(|(p, _)| *p)
            .collect();
        let index = shiplane_artifacts::index_path("api");
        assert!(
            reserved.iter().any(|r| index.starts_with(&format!("{r}/"))),
            "{index} is not under {reserved:?}"
        );
        assert!(reserved.contains(&crate::commands::registry_gc::AUDIT_LOG));
    }
}
