//! Diagnostics about an intent file, and how a person or a machine sees them.
//!
//! A diagnostic is data (severity, stable code, message, position, help); rendering is a pure
//! function of the diagnostics and the source text, so the same file always prints the same
//! bytes. The human form follows rustc: a header, `--> file:line:col`, the source line and a
//! caret under the offending text, then `= help:`.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use crate::node::Span;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The intent is invalid; `check` exits 2.
    Error,
    /// Worth a look, but the intent is usable.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in an intent file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable, kebab-case identifier of the rule (`unknown-key`, `literal-secret`, …).
    pub code: &'static str,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where, when the problem has a position.
    pub span: Option<Span>,
    /// A short note printed beside the caret.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A new error.
    #[must_use]
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: None,
            label: None,
            help: None,
        }
    }

    /// A new warning.
    #[must_use]
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Sets the position.
    #[must_use]
    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    /// Sets the note beside the caret.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the help line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the help line when there is one.
    #[must_use]
    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
}

/// Orders diagnostics by position (then code and message), so output is stable.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (a.span.map(|s| s.start), a.code, &a.message).cmp(&(
            b.span.map(|s| s.start),
            b.code,
            &b.message,
        ))
    });
}

/// Counts errors and warnings.
#[must_use]
pub fn counts(diags: &[Diagnostic]) -> (usize, usize) {
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    (errors, diags.len() - errors)
}

struct Palette {
    error: Style,
    warning: Style,
    accent: Style,
    bold: Style,
    help: Style,
}

impl Palette {
    fn new(color: bool) -> Self {
        if !color {
            return Palette {
                error: Style::new(),
                warning: Style::new(),
                accent: Style::new(),
                bold: Style::new(),
                help: Style::new(),
            };
        }
        Palette {
            error: Style::new()
                .fg_color(Some(AnsiColor::BrightRed.into()))
                .bold(),
            warning: Style::new()
                .fg_color(Some(AnsiColor::BrightYellow.into()))
                .bold(),
            accent: Style::new()
                .fg_color(Some(AnsiColor::BrightBlue.into()))
                .bold(),
            bold: Style::new().bold(),
            help: Style::new()
                .fg_color(Some(AnsiColor::BrightCyan.into()))
                .bold(),
        }
    }
}

fn paint(style: Style, text: &str) -> String {
    format!("{}{text}{}", style.render(), style.render_reset())
}

/// Renders diagnostics for a person, rustc style. `file` is the name shown after `-->`.
#[must_use]
pub fn render_human(diags: &[Diagnostic], file: &str, source: &str, color: bool) -> String {
    let p = Palette::new(color);
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::new();
    for d in diags {
        let sev_style = match d.severity {
            Severity::Error => p.error,
            Severity::Warning => p.warning,
        };
        let _ = writeln!(
            out,
            "{}{}",
            paint(sev_style, &format!("{}[{}]", d.severity.as_str(), d.code)),
            paint(
                p.bold,
                &format!(": {}", crate::values::mask_credentials(&d.message))
            )
        );
        match d.span {
            Some(span) if span.start.line > 0 => {
                let line_no = span.start.line.to_string();
                let gutter = " ".repeat(line_no.len());
                let _ = writeln!(
                    out,
                    "{gutter}{} {file}:{}:{}",
                    paint(p.accent, "-->"),
                    span.start.line,
                    span.start.col
                );
                // The echoed line may hold the very credential the diagnostic is about; masking
                // keeps every character's column, so the caret still points at it.
                let text = crate::values::mask_credentials(
                    lines
                        .get(span.start.line as usize - 1)
                        .copied()
                        .unwrap_or(""),
                );
                let text = text.as_str();
                let _ = writeln!(out, "{gutter} {}", paint(p.accent, "|"));
                let _ = writeln!(
                    out,
                    "{} {} {}",
                    paint(p.accent, &line_no),
                    paint(p.accent, "|"),
                    text.trim_end()
                );
                let line_chars =
                    u32::try_from(text.trim_end().chars().count()).unwrap_or(u32::MAX - 1);
                let start = span.start.col.max(1);
                let end = if span.end.line == span.start.line && span.end.col > start {
                    span.end.col.min(line_chars + 1)
                } else {
                    line_chars + 1
                };
                let width = end.saturating_sub(start).max(1) as usize;
                let pad: String = text
                    .chars()
                    .take(start as usize - 1)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let label = d
                    .label
                    .as_deref()
                    .map(|l| format!(" {l}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{gutter} {} {pad}{}",
                    paint(p.accent, "|"),
                    paint(sev_style, &format!("{}{label}", "^".repeat(width)))
                );
                if let Some(help) = &d.help {
                    let _ = writeln!(out, "{gutter} {}", paint(p.accent, "|"));
                    let _ = writeln!(
                        out,
                        "{gutter} {} {}: {help}",
                        paint(p.accent, "="),
                        paint(p.help, "help")
                    );
                }
            }
            _ => {
                let _ = writeln!(out, " {} {file}", paint(p.accent, "-->"));
                if let Some(help) = &d.help {
                    let _ = writeln!(
                        out,
                        " {} {}: {help}",
                        paint(p.accent, "="),
                        paint(p.help, "help")
                    );
                }
            }
        }
        out.push('\n');
    }
    out
}

/// Renders diagnostics as JSON objects (the `--json` wire format of `check`).
#[must_use]
pub fn to_json(diags: &[Diagnostic], file: &str) -> serde_json::Value {
    serde_json::Value::Array(
        diags
            .iter()
            .map(|d| {
                serde_json::json!({
                    "severity": d.severity.as_str(),
                    "code": d.code,
                    "message": crate::values::mask_credentials(&d.message),
                    "file": file,
                    "line": d.span.map(|s| s.start.line),
                    "column": d.span.map(|s| s.start.col),
                    "end_line": d.span.map(|s| s.end.line),
                    "end_column": d.span.map(|s| s.end.col),
                    "help": d.help,
                })
            })
            .collect(),
    )
}
