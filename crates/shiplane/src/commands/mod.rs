//! One module per command. Each takes its parsed arguments and the output settings and returns
//! an exit status, or a [`CliError`] saying what went wrong and what to do.

mod check;
mod env;
mod hold;
mod image;
mod init;
mod lane_images;
mod lanes;
mod plan;
mod promote;
mod publish;
mod quickstart;
mod registry_gc;
mod rollback;
mod schema;
mod status_view;

use std::process::ExitCode;

use crate::cli::{Cli, Command, EnvCommand, ImageCommand, RegistryCommand};
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
        Command::Promote(args) => promote::run(&args, intent, out),
        Command::Rollback(args) => rollback::run(&args, intent, out),
        Command::Hold(args) => hold::hold(&args, intent, out),
        Command::ReleaseHold(args) => hold::release(&args, intent, out),
        Command::Hibernate(args) => hold::hibernate(&args, true, intent, out),
        Command::Wake(args) => hold::hibernate(&args, false, intent, out),
        Command::History(args) => lanes::run_history(&args, intent, out),
        Command::Status(args) => lanes::run_status(&args, intent, out),
        Command::Diff(args) => lanes::run_diff(&args, intent, out),
        Command::Render(args) => lanes::run_render(&args, intent, out),
        Command::Quickstart(args) => quickstart::run(&args, out),
        Command::Env(EnvCommand::Up(args)) => env::up(&args, intent, out),
        Command::Env(EnvCommand::Down(args)) => env::down(&args, intent, out),
        Command::Env(EnvCommand::Gc(args)) => env::gc(&args, intent, out),
        Command::Env(EnvCommand::List) => env::list(intent, out),
        Command::Registry(RegistryCommand::Gc(args)) => registry_gc::run(&args, intent, out),
    }
}
