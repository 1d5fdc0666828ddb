//! `shiplane schema`: the intent's JSON Schema, generated from the model.

use std::process::ExitCode;

use crate::output::Output;

pub fn run(_out: &Output) -> ExitCode {
    // The schema is JSON whether or not `--json` was given.
    let schema = shiplane_intent::intent_schema();
    crate::outln!(
        "{}",
        serde_json::to_string_pretty(&schema).unwrap_or_default()
    );
    ExitCode::SUCCESS
}
