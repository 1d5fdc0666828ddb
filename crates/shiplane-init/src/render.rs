//! Rendering a [`Proposal`] as a commented, human-friendly `shiplane.yaml`.
//!
//! The output is written by hand rather than serialized so that it reads like the examples in
//! SPEC §4: flow mappings for short values, a comment saying where each guess came from, and a
//! TODO wherever a person must decide. It is a pure function of the proposal (byte-identical for
//! equal input). Every value goes through [`scalar`] or [`quoted`], so text from the repository
//! (paths, names) can never change the YAML's structure; comment text is kept on one line.

use std::fmt::Write as _;

use crate::scan::{Proposal, ProposedEnv, ProposedService};

/// Words a YAML 1.1 or 1.2 reader may take for a boolean or null when left unquoted.
const RESERVED: [&str; 11] = [
    "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~", "nan",
];

/// A YAML scalar for `text`: plain when that is unambiguous, double-quoted otherwise.
pub fn scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
        && text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '_')
        && !RESERVED.contains(&text.to_ascii_lowercase().as_str());
    if plain { text.to_owned() } else { quoted(text) }
}

/// A double-quoted YAML scalar (JSON string syntax is valid YAML).
pub fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// A flow sequence of double-quoted strings.
fn quoted_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| quoted(s)).collect();
    format!("[{}]", inner.join(", "))
}

/// A flow sequence of scalars.
fn scalar_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| scalar(s)).collect();
    format!("[{}]", inner.join(", "))
}

/// Comment text on one line: control characters (a newline in a file name) become `?`.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Renders the proposal as the text of `shiplane.yaml`.
pub fn render_yaml(p: &Proposal) -> String {
    let mut out = String::new();
    let project = &p.project;
    out.push_str(
        "# Shiplane intent proposed by `shiplane init` from the files of this repository.\n",
    );
    out.push_str("# Names, ports and paths are guesses; the comments say where each came from.\n");
    out.push_str("# Review them, then run `shiplane check`.\n");
    out.push_str("version: 1\n");
    let _ = writeln!(out, "project: {}", scalar(project));

    out.push_str("\ndefaults:\n");
    out.push_str(
        "  # TODO: the registry CI pushes to; a service's image is {registry}/{service}.\n",
    );
    let _ = writeln!(
        out,
        "  registry: {}",
        scalar(&format!("registry.example.com/{project}"))
    );
    out.push_str("  tag: \"sha-{commit.short}\"\n");

    out.push_str("\ninputs:\n");
    if !p.shared_inputs.is_empty() {
        out.push_str("  # A change to one of these affects every service.\n");
        let _ = writeln!(out, "  shared: {}", quoted_list(&p.shared_inputs));
    }
    out.push_str("  # Changes to these never affect anything.\n");
    let _ = writeln!(out, "  ignore: {}", quoted_list(&p.ignore_inputs));

    if !p.libraries.is_empty() {
        out.push_str("\n# Shared code that services depend on; never deployed on its own.\n");
        out.push_str("libraries:\n");
        for lib in &p.libraries {
            if !lib.evidence.is_empty() {
                let _ = writeln!(out, "  # {}", one_line(&lib.evidence.join(", ")));
            }
            let _ = writeln!(
                out,
                "  {}: {{ paths: {} }}",
                scalar(&lib.name),
                quoted_list(&lib.paths)
            );
        }
    }

    out.push('\n');
    if p.services.is_empty() {
        out.push_str(
            "# No deployable was found: no Dockerfile or Containerfile, and no application\n",
        );
        out.push_str(
            "# Shiplane recognises (a `start` script, a Go `main` package, Spring Boot).\n",
        );
        out.push_str("# Add one service per container image, for example:\n");
        out.push_str("#   api:\n");
        out.push_str("#     paths: [\"services/api/**\"]\n");
        out.push_str(
            "#     build: { context: services/api, dockerfile: services/api/Dockerfile }\n",
        );
        out.push_str("#     run: { port: 8080, health: { path: /healthz } }\n");
        out.push_str("services: {}\n");
    } else {
        out.push_str("# One service per container image.\n");
        out.push_str("services:\n");
        for (i, s) in p.services.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            render_service(&mut out, s);
        }
    }

    if !p.notes.is_empty() {
        out.push_str("\n# Also seen, not proposed:\n");
        for note in &p.notes {
            let _ = writeln!(out, "#   {}", one_line(note));
        }
    }

    if !p.charts.is_empty() {
        let charts: Vec<String> = p
            .charts
            .iter()
            .map(|c| {
                let dir = if c.dir.is_empty() { "." } else { &c.dir };
                match &c.name {
                    Some(n) => format!("{dir} ({n})"),
                    None => dir.to_owned(),
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "\n# Helm charts in this repository: {}.",
            one_line(&charts.join(", "))
        );
        out.push_str(
            "# If your GitOps repository deploys one of them, a lane can set the image in a\n",
        );
        out.push_str("# values file instead of rendering manifests, for example:\n");
        out.push_str("#     write: { helm-values: { file: \"values-dev.yaml\" } }\n");
    }

    out.push_str("\nlanes:\n");
    out.push_str("  dev:\n");
    let namespace = format!("{project}-dev");
    let _ = writeln!(out, "    namespace: {}", scalar(&namespace));
    out.push_str("    promote: auto\n");
    out.push_str("    # TODO: point this at your GitOps repository\n");
    let repo = format!("git@github.com:example/{project}-gitops.git");
    let _ = writeln!(
        out,
        "    gitops: {{ repo: {}, branch: main, path: lanes/dev }}",
        quoted(&repo)
    );
    out
}

fn render_service(out: &mut String, s: &ProposedService) {
    if !s.evidence.is_empty() {
        let _ = writeln!(out, "  # Found: {}", one_line(&s.evidence.join(", ")));
    }
    if let Some(port) = &s.port {
        let _ = writeln!(out, "  # Port: {}", one_line(&port.source));
    }
    if let Some(health) = &s.health {
        let _ = writeln!(out, "  # Health: {}", one_line(&health.source));
    }
    if s.build.is_none() {
        let context = if s.dir.is_empty() {
            "."
        } else {
            s.dir.as_str()
        };
        let dockerfile = if s.dir.is_empty() {
            "Dockerfile".to_owned()
        } else {
            format!("{}/Dockerfile", s.dir)
        };
        out.push_str(
            "  # TODO: no Dockerfile yet. Add one (CI builds one image per service), then:\n",
        );
        let _ = writeln!(
            out,
            "  #   build: {{ context: {}, dockerfile: {} }}",
            one_line(&scalar(context)),
            one_line(&scalar(&dockerfile))
        );
    }
    if s.port.is_none() {
        out.push_str("  # No port found: set run.port if the service listens on one.\n");
    }
    let _ = writeln!(out, "  {}:", scalar(&s.name));
    let _ = writeln!(out, "    paths: {}", quoted_list(&s.paths));
    if !s.depends_on.is_empty() {
        let _ = writeln!(out, "    depends_on: {}", scalar_list(&s.depends_on));
    }
    if let Some(b) = &s.build {
        let mut fields = vec![
            format!("context: {}", scalar(&b.context)),
            format!("dockerfile: {}", scalar(&b.dockerfile)),
        ];
        if let Some(t) = &b.target {
            fields.push(format!("target: {}", scalar(t)));
        }
        if !b.args.is_empty() {
            let args: Vec<String> = b
                .args
                .iter()
                .map(|(k, v)| format!("{}: {}", scalar(k), quoted(v)))
                .collect();
            fields.push(format!("args: {{ {} }}", args.join(", ")));
        }
        let _ = writeln!(out, "    build: {{ {} }}", fields.join(", "));
    }
    let proposed_env = s
        .env
        .iter()
        .any(|(_, e)| !matches!(e, ProposedEnv::Skipped(_)));
    if s.port.is_some() || s.health.is_some() || proposed_env {
        out.push_str("    run:\n");
        if let Some(port) = &s.port {
            let _ = writeln!(out, "      port: {}", port.value);
        }
        if let Some(h) = &s.health {
            match h.value.port {
                Some(port) => {
                    let _ = writeln!(
                        out,
                        "      health: {{ path: {}, port: {port} }}",
                        scalar(&h.value.path)
                    );
                }
                None => {
                    let _ = writeln!(out, "      health: {{ path: {} }}", scalar(&h.value.path));
                }
            }
        }
    }
    render_env(out, s, proposed_env);
}

/// `run.env` from Compose: plain values quoted, credentials as Secret references with a TODO,
/// and what was left out as comments (so a reader knows it was seen). Duplicate keys keep the
/// last value, as Compose does.
fn render_env(out: &mut String, s: &ProposedService, any_proposed: bool) {
    let mut last: Vec<(&String, &ProposedEnv)> = Vec::new();
    for (k, e) in &s.env {
        last.retain(|(seen, _)| *seen != k);
        last.push((k, e));
    }
    let indent = if any_proposed { "      " } else { "  " };
    if any_proposed {
        let _ = writeln!(out, "{indent}env:");
    }
    let mut secrets: Vec<(&str, &str)> = last
        .iter()
        .filter_map(|(_, e)| match e {
            ProposedEnv::Secret { secret, key } => Some((secret.as_str(), key.as_str())),
            _ => None,
        })
        .collect();
    secrets.dedup_by_key(|(secret, _)| *secret);
    for (secret, _) in &secrets {
        let keys: Vec<String> = last
            .iter()
            .filter_map(|(_, e)| match e {
                ProposedEnv::Secret { secret: s, key } if s == secret => Some(one_line(key)),
                _ => None,
            })
            .collect();
        let _ = writeln!(
            out,
            "{indent}  # TODO: these look like credentials; create the Kubernetes Secret `{}` with keys {} (values never go in this file).",
            one_line(secret),
            keys.join(", ")
        );
    }
    for (k, e) in last {
        match e {
            ProposedEnv::Literal(v) => {
                let _ = writeln!(out, "{indent}  {}: {}", scalar(k), quoted(v));
            }
            ProposedEnv::Secret { secret, key } => {
                let _ = writeln!(
                    out,
                    "{indent}  {}: {{ secret: {}, key: {} }}",
                    scalar(k),
                    scalar(secret),
                    scalar(key)
                );
            }
            ProposedEnv::Skipped(why) => {
                let _ = writeln!(
                    out,
                    "{indent}  # {}: not proposed, {}",
                    one_line(k),
                    one_line(why)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_quote_what_needs_it() {
        let table = [
            ("apps/web", "apps/web"),
            ("/actuator/health", "/actuator/health"),
            ("**/*.md", "\"**/*.md\""),
            ("yes", "\"yes\""),
            ("NULL", "\"NULL\""),
            ("123", "\"123\""),
            ("1e3", "\"1e3\""),
            (".", "\".\""),
            ("a: b", "\"a: b\""),
            ("", "\"\""),
            ("x\"y", "\"x\\\"y\""),
        ];
        for (text, want) in table {
            assert_eq!(scalar(text), want, "{text}");
        }
    }
}
