#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
//! `shiplane status` as a person reads it: the services × lanes matrix in graph order, aligned
//! whatever the names' lengths, with markers, and after a rollback who did it and when (status
//! and history), end to end against a real `docker-registry` and a bare GitOps repository.

mod common;

use std::path::Path;

use common::world::World;

const SOURCES: [(&str, &str); 3] = [
    ("services/api/main.py", "print('api v1')\n"),
    ("apps/web/index.html", "<h1>web</h1>\n"),
    (
        "services/a-worker-with-a-rather-long-name/main.py",
        "print('worker')\n",
    ),
];
const SERVICES: [&str; 3] = ["api", "web", "a-worker-with-a-rather-long-name"];

fn intent(host: &str, gitops: &Path) -> String {
    format!(
        r#"version: 1
project: shop
defaults:
  registry: {host}/shop
  gitops: {{ repo: "file://{}", branch: main }}
services:
  api:
    paths: ["services/api/**"]
    build: {{ context: services/api }}
    run: {{ port: 8000, health: {{ path: /healthz }} }}
  web:
    paths: ["apps/web/**"]
    build: {{ context: apps/web }}
    run: {{ port: 3000 }}
  a-worker-with-a-rather-long-name:
    paths: ["services/a-worker-with-a-rather-long-name/**"]
    build: {{ context: services/a-worker-with-a-rather-long-name }}
lanes:
  staging: {{ from: dev }}
  dev: {{}}
"#,
        gitops.display()
    )
}

fn text(w: &World, args: &[&str]) -> String {
    let out = w.shiplane(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "shiplane {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The character column where `needle` starts in `line`.
fn col(line: &str, needle: &str) -> usize {
    let byte = line
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` in {line:?}"));
    line[..byte].chars().count()
}

#[test]
fn status_is_a_matrix_in_lane_order_with_markers_and_rollback_facts() {
    let Some(w) = World::start(intent, &SOURCES) else {
        return;
    };
    for s in SERVICES {
        w.publish(s, &format!("{s} v1"));
    }
    w.ok(&["promote", "dev", "--commit", "HEAD"]);
    w.ok(&["promote", "staging", "--from", "dev"]);
    w.source.write("services/api/main.py", "print('api v2')\n");
    w.source.commit("api v2");
    w.publish("api", "api v2");
    w.ok(&["promote", "dev", "--commit", "HEAD"]);

    let status = text(&w, &["status"]);
    let lines: Vec<&str> = status.lines().collect();
    let header = lines[0];
    assert!(
        col(header, "dev") < col(header, "staging"),
        "dev before staging (graph order, not by name): {status}"
    );
    let table: Vec<&str> = lines[..=SERVICES.len()].to_vec();
    let row = |service: &str| {
        *table
            .iter()
            .find(|l| l.starts_with(&format!("{service} ")))
            .unwrap_or_else(|| panic!("row {service}: {status}"))
    };
    // Columns start at the same character on every line, the long service name included.
    let (dev_col, staging_col) = (col(header, "dev"), col(header, "staging"));
    for line in &table[1..] {
        let chars: Vec<char> = line.chars().collect();
        for c in [dev_col, staging_col] {
            assert!(
                chars[c - 1] == ' ' && chars[c] != ' ',
                "a cell starts at column {c}: {line:?}\n{status}"
            );
        }
    }
    let api = row("api");
    let api_dev = &api.chars().skip(dev_col).collect::<String>()[..staging_col - dev_col];
    let api_staging: String = api.chars().skip(staging_col).collect();
    assert!(
        api_dev.trim_end().ends_with('+'),
        "api's dev cell is ahead of staging: {status}"
    );
    assert!(
        api_staging.trim_end().ends_with('*'),
        "api's staging cell differs from dev: {status}"
    );
    let web = row("web");
    assert!(
        !web.contains('*') && !web.contains('+'),
        "web is the same everywhere: {status}"
    );
    let cell: Vec<usize> = web
        .split_whitespace()
        .skip(1)
        .take(2)
        .map(str::len)
        .collect();
    assert_eq!(
        cell,
        [7, 8],
        "unversioned: short source commit, short digest: {status}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("differs from the upstream")),
        "a legend explains the markers: {status}"
    );
    let json = w.ok(&["status"]);
    assert_eq!(
        json["matrix"]["lanes"],
        serde_json::json!(["dev", "staging"])
    );
    assert_eq!(json["lanes"][0]["lane"], "dev", "the `lanes` array is kept");
    let api_row = json["matrix"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service"] == "api")
        .unwrap();
    assert_eq!(api_row["cells"]["staging"]["differs_from_upstream"], true);

    // A rollback of dev: the header says HELD, a line says since when, by whom and why.
    w.ok(&["rollback", "dev", "--reason", "pager"]);
    let status = text(&w, &["status"]);
    let first = status.lines().next().unwrap();
    assert!(first.contains("dev [HELD]"), "{status}");
    let held = status
        .lines()
        .find(|l| l.starts_with("dev: HELD since "))
        .unwrap_or_else(|| panic!("a held line: {status}"));
    assert!(held.contains(" by alice — pager"), "{held}");

    let history = w.ok(&["history", "dev"]);
    let entry = &history["history"][0];
    assert!(entry["rollback_from"].is_string(), "{history}");
    assert_eq!(entry["by"], "alice", "{history}");
    assert!(entry["at"].as_str().unwrap().ends_with('Z'), "{history}");
    assert!(
        history["history"][1]["rollback_from"].is_null(),
        "{history}"
    );
    let text_history = text(&w, &["history", "dev"]);
    assert!(
        text_history
            .lines()
            .next()
            .unwrap()
            .contains("rolled back from ")
            && text_history.contains(" by alice at "),
        "{text_history}"
    );
}
