//! How the binary talks to people and machines: colour only on a terminal (and never with
//! `NO_COLOR`), JSON on stdout with `--json`, errors with what to do next, and exit codes that
//! mean something (SPEC §5).

use std::io::IsTerminal as _;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};

use crate::cli::ColorChoice;

/// Exit status: the work failed (I/O, network, git).
pub const EXIT_FAILURE: u8 = 1;
/// Exit status: bad usage or an invalid intent.
pub const EXIT_INVALID: u8 = 2;
/// Exit status: refused by policy (order, approvals, freeze, hold…).
pub const EXIT_POLICY: u8 = 3;

/// An error a command ends with: what happened, what to do, and the exit status.
#[derive(Debug)]
pub struct CliError {
    pub status: u8,
    pub message: String,
    pub help: Option<String>,
}

impl CliError {
    pub fn new(status: u8, message: impl Into<String>) -> Self {
        CliError {
            status,
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError::new(EXIT_FAILURE, format!("{e:#}"))
    }
}

/// Output settings for one run.
pub struct Output {
    pub json: bool,
    color_stdout: bool,
    color_stderr: bool,
}

fn wants_color(choice: ColorChoice, is_tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_tty
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

impl Output {
    pub fn new(json: bool, color: ColorChoice) -> Self {
        Output {
            json,
            color_stdout: wants_color(color, std::io::stdout().is_terminal()),
            color_stderr: wants_color(color, std::io::stderr().is_terminal()),
        }
    }

    /// Whether stderr gets colour.
    pub fn color_stderr(&self) -> bool {
        self.color_stderr
    }

    /// `text` in `style` when stdout is coloured.
    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.color_stdout {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    /// A green, bold style for success lines.
    pub fn ok_style() -> Style {
        Style::new()
            .fg_color(Some(AnsiColor::BrightGreen.into()))
            .bold()
    }

    /// A yellow style for what changes or deserves attention.
    pub fn warn_style() -> Style {
        Style::new().fg_color(Some(AnsiColor::Yellow.into()))
    }

    /// Prints a JSON document on stdout.
    #[expect(
        clippy::unused_self,
        reason = "kept a method so every output goes through Output"
    )]
    pub fn print_json(&self, value: &serde_json::Value) {
        use std::io::Write as _;
        // A closed pipe (`shiplane plan --json | head`) is the reader's choice, not an error
        // worth a panic: ignore write failures here.
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    }

    /// Reports `err` and returns its exit status.
    pub fn fail(&self, err: &CliError) -> ExitCode {
        if self.json {
            self.print_json(&serde_json::json!({
                "error": { "message": err.message, "help": err.help, "exit_code": err.status }
            }));
        } else {
            let red = Style::new()
                .fg_color(Some(AnsiColor::BrightRed.into()))
                .bold();
            let label = if self.color_stderr {
                format!("{}error{}", red.render(), red.render_reset())
            } else {
                "error".to_owned()
            };
            eprintln!("{label}: {}", err.message);
            if let Some(h) = &err.help {
                eprintln!("  help: {h}");
            }
        }
        ExitCode::from(err.status)
    }
}
