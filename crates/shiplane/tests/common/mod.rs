//! Helpers shared by the CLI tests: the binary as a user runs it, and exit-code checks that show
//! what the binary said when they fail.

#![allow(dead_code, reason = "each test binary uses a different subset")]

pub mod world;

use std::process::Output;

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
