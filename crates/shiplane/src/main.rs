//! The `shiplane` binary: parses the command line and hands it to one module per command.
//! Everything interesting lives in the library crates; this is glue.

mod artifact_index;
mod cli;
mod commands;
mod intent_file;
mod out_dir;
mod output;
mod planning;
mod registry;
mod support;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let out = output::Output::new(cli.global.json, cli.global.color);
    match commands::run(cli, &out) {
        Ok(code) => code,
        Err(err) => out.fail(&err),
    }
}
