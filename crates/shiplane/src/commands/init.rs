//! `shiplane init`: proposes a starter intent by scanning the repository.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::InitArgs;
use crate::output::{CliError, EXIT_FAILURE, Output};

pub fn run(_args: &InitArgs, _intent: Option<&Path>, _out: &Output) -> Result<ExitCode, CliError> {
    Err(CliError::new(
        EXIT_FAILURE,
        "`shiplane init` is not wired yet",
    ))
}
