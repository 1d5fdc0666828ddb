//! How the binary talks to people and machines: colour only on a terminal (and never with
//! `NO_COLOR`), JSON on stdout with `--json`, errors with what to do next, and exit codes that
//! mean something (SPEC §5).

use std::io::IsTerminal as _;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};

use crate::cli::ColorChoice;

/// What kind of failure a command ends with. [`ErrorKind::exit_code`] is the one place that
/// turns kinds into exit statuses (SPEC §5), so the same failure exits the same way in every
/// command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The work failed (I/O, network, git, a registry): exit 1.
    Failure,
    /// Bad usage, an invalid intent, or something named that does not exist (an unknown lane,
    /// release or version): exit 2.
    Invalid,
    /// Refused by policy (order, approvals, freeze, hold…): exit 3.
    Policy,
}

impl ErrorKind {
    /// The exit status of this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Failure => 1,
            ErrorKind::Invalid => 2,
            ErrorKind::Policy => 3,
        }
    }

    /// This kind as the process's exit code.
    pub fn exit(self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }
}

/// An error a command ends with: what happened, what to do, and its kind (hence its exit
/// status).
#[derive(Debug)]
pub struct CliError {
    pub kind: ErrorKind,
    pub message: String,
    pub help: Option<String>,
    /// Machine-readable detail for `--json` (the diagnostics of an invalid intent).
    pub details: Option<Box<serde_json::Value>>,
}

impl CliError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CliError {
            kind,
            message: message.into(),
            help: None,
            details: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds machine-readable detail to the `--json` error document.
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError::new(ErrorKind::Failure, format!("{e:#}"))
    }
}

/// Writes one line to stdout. A closed pipe (`shiplane status | head -1`) is the reader's
/// choice, not an error worth a panic (`println!` panics on it): the rest of the output is
/// dropped and the command still finishes its work and exits with its own status.
pub fn write_stdout_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"));
}

/// Writes `text` as it is to stdout, ignoring a closed pipe like [`write_stdout_line`].
pub fn write_stdout(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// `println!` that does not panic when stdout is closed (see [`write_stdout_line`]).
#[macro_export]
macro_rules! outln {
    () => {
        $crate::output::write_stdout_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout_line(format_args!($($arg)*))
    };
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
        // worth a panic: ignore write failures here. A `Value` always serialises.
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut stdout, value)
            .map_err(std::io::Error::from)
            .and_then(|()| stdout.write_all(b"\n"));
    }

    /// Reports `err` and returns its exit status.
    pub fn fail(&self, err: &CliError) -> ExitCode {
        if self.json {
            let mut error = serde_json::json!({
                "message": err.message,
                "help": err.help,
                "exit_code": err.kind.exit_code(),
            });
            if let Some(details) = &err.details {
                error["details"] = (**details).clone();
            }
            self.print_json(&serde_json::json!({ "error": error }));
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
        err.kind.exit()
    }
}
