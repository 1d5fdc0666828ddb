//! One module per command. Each takes its parsed arguments and the output settings and returns
//! an exit status, or a [`CliError`] saying what went wrong and what to do.

mod check;
mod image;
mod init;
mod plan;
mod publish;
mod schema;

use std::process::ExitCode;

use crate::cli::{Cli, Command, ImageCommand};
use crate::output::{CliError, Output};

/// Runs the parsed command line.
pub fn run(cli: Cli, out: &Output) -> Result<ExitCode, CliError> {
    let intent = cli.global.intent.as_deref();
    match cli.command {
        Command::Check(args) => check::run(&args, intent, out),
        Command::Schema => Ok(schema::run(out)),
        Command::Init(args) => init::run(&args, intent, out),
        Command::Plan(args) => plan::run(&args, intent, out),
        Command::Publish(args) => publish::run(&args, intent, out),
        Command::Image(ImageCommand::Pack(args)) => image::pack(&args, out),
    }
}
