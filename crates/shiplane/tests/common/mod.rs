//! Helpers shared by the CLI tests: the binary as a user runs it, and exit-code checks that show
//! what the binary said when they fail.

#![allow(dead_code, reason = "each test binary uses a different subset")]

pub mod world;

use std::io::Write as _;
use std::process::{Command as StdCommand, Output};

use assert_cmd::Command;

/// The `shiplane` binary, without settings leaking in from the developer's environment.
pub fn shiplane() -> Command {
    let mut c = Command::cargo_bin("shiplane").expect("the shiplane binary is built");
    c.env_remove("NO_COLOR").env_remove("SHIPLANE_INTENT");
    c
}

/// Asserts the exit status, printing the command's stderr when it differs.
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An intent whose aliases would expand to a billion values.
pub fn alias_bomb() -> String {
    let mut s = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(",");
        s += &[
            "a",
            &i.to_string(),
            ": &a",
            &i.to_string(),
            " [",
            &refs,
            "]\n",
        ]
        .concat();
    }
    s
}

/// The digest `HOST/REPO:TAG` resolves to in the registry, read with skopeo (an independent
/// client); `None` when the tag does not exist.
pub fn registry_digest(reference: &str) -> Option<String> {
    let out = StdCommand::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{reference}"),
        ])
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("manifest unknown") || err.contains("not found"),
            "skopeo failed for another reason: {err}"
        );
        return None;
    }
    Some(format!("sha256:{}", sha256_hex(&out.stdout)))
}

/// Asserts that `reference` resolves to `digest`.
#[track_caller]
pub fn points_to(reference: &str, digest: &str) {
    assert_eq!(
        registry_digest(reference).as_deref(),
        Some(digest),
        "{reference}"
    );
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut child = StdCommand::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}
