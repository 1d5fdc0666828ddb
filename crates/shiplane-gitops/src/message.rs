//! Commit messages and author identity.
//!
//! Owns the exact text of a Shiplane commit: `subject`, a blank line, the body, a blank line,
//! and one `Key: value` trailer per line, in the order given, so that `git interpret-trailers
//! --parse` and `git log --format=%(trailers)` read them back. Rendering is a pure function and
//! refuses input that would make the trailers ambiguous instead of silently rewriting it. It
//! knows nothing about repositories.

use crate::GitopsError;

/// The message of one `GitOps` commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitMessage {
    /// One line: what the commit does (`Promote web 1.4.2 to prod`).
    pub subject: String,
    /// Free text after the subject; may be empty or span several paragraphs.
    pub body: String,
    /// `(key, value)` trailers such as `Shiplane-Lane`, `Shiplane-Release`, `Source-Commit`,
    /// `Approved-By`, rendered in this order.
    pub trailers: Vec<(String, String)>,
}

impl CommitMessage {
    /// A message with only a subject.
    pub fn new(subject: impl Into<String>) -> CommitMessage {
        CommitMessage {
            subject: subject.into(),
            body: String::new(),
            trailers: Vec::new(),
        }
    }

    /// Sets the body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<String>) -> CommitMessage {
        self.body = body.into();
        self
    }

    /// Appends a trailer.
    #[must_use]
    pub fn with_trailer(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> CommitMessage {
        self.trailers.push((key.into(), value.into()));
        self
    }

    /// Renders `subject\n\nbody\n\nKey: value\n…`, leaving out empty parts.
    ///
    /// Refuses a subject that is empty or spans lines, a trailer key that is not
    /// `[A-Za-z0-9][A-Za-z0-9-]*`, and a trailer value that is empty or spans lines: each
    /// would either break `git interpret-trailers` or change what a reader sees.
    pub fn render(&self) -> Result<String, GitopsError> {
        let subject = self.subject.trim();
        if subject.is_empty() {
            return Err(bad("the subject is empty"));
        }
        if subject.contains(['\n', '\r']) {
            return Err(bad("the subject spans more than one line"));
        }
        let mut out = String::with_capacity(subject.len() + self.body.len() + 64);
        out.push_str(subject);
        out.push('\n');
        let body = self.body.trim_matches(['\n', '\r']);
        if !body.trim().is_empty() {
            out.push('\n');
            out.push_str(body.trim_end());
            out.push('\n');
        }
        if !self.trailers.is_empty() {
            out.push('\n');
            for (key, value) in &self.trailers {
                check_trailer(key, value)?;
                out.push_str(key);
                out.push_str(": ");
                out.push_str(value.trim());
                out.push('\n');
            }
        }
        Ok(out)
    }
}

fn check_trailer(key: &str, value: &str) -> Result<(), GitopsError> {
    let mut chars = key.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(bad(&format!(
            "trailer key `{key}` must be letters, digits and dashes"
        )));
    }
    if value.trim().is_empty() {
        return Err(bad(&format!("trailer `{key}` has an empty value")));
    }
    if value.contains(['\n', '\r']) {
        return Err(bad(&format!("trailer `{key}` spans more than one line")));
    }
    Ok(())
}

fn bad(reason: &str) -> GitopsError {
    GitopsError::InvalidMessage {
        reason: reason.to_owned(),
    }
}

/// Who authors and commits `GitOps` commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The name (`Shiplane`).
    pub name: String,
    /// The email (`shiplane@localhost`).
    pub email: String,
}

/// Environment variable naming the author of `GitOps` commits.
pub const AUTHOR_NAME_ENV: &str = "SHIPLANE_GIT_AUTHOR_NAME";
/// Environment variable giving the author's email.
pub const AUTHOR_EMAIL_ENV: &str = "SHIPLANE_GIT_AUTHOR_EMAIL";

impl Default for Identity {
    fn default() -> Identity {
        Identity {
            name: "Shiplane".to_owned(),
            email: "shiplane@localhost".to_owned(),
        }
    }
}

impl Identity {
    /// [`AUTHOR_NAME_ENV`] and [`AUTHOR_EMAIL_ENV`] where set and not blank, otherwise
    /// `Shiplane <shiplane@localhost>`.
    pub fn from_env() -> Identity {
        let default = Identity::default();
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Identity {
            name: var(AUTHOR_NAME_ENV).unwrap_or(default.name),
            email: var(AUTHOR_EMAIL_ENV).unwrap_or(default.email),
        }
    }

    /// Refuses names or emails git would store as a malformed signature.
    pub(crate) fn validate(&self) -> Result<(), GitopsError> {
        for (what, value) in [("name", &self.name), ("email", &self.email)] {
            if value.trim().is_empty() {
                return Err(GitopsError::InvalidIdentity {
                    reason: format!("the {what} is empty"),
                });
            }
            if value.contains(['<', '>', '\n', '\r', '\0']) {
                return Err(GitopsError::InvalidIdentity {
                    reason: format!("the {what} `{value}` contains `<`, `>` or a line break"),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(message: &CommitMessage, expected: &str) {
        assert_eq!(message.render().expect("renders"), expected);
    }

    #[test]
    fn renders_subject_body_and_trailers() {
        check(&CommitMessage::new("Promote web"), "Promote web\n");
        check(
            &CommitMessage::new("Promote web").with_body("Line one.\nLine two.\n\n"),
            "Promote web\n\nLine one.\nLine two.\n",
        );
        check(
            &CommitMessage::new("Promote web")
                .with_body("Why.")
                .with_trailer("Shiplane-Lane", "prod")
                .with_trailer("Approved-By", "Ada <ada@example.com>"),
            "Promote web\n\nWhy.\n\nShiplane-Lane: prod\nApproved-By: Ada <ada@example.com>\n",
        );
        check(
            &CommitMessage::new("S").with_trailer("Source-Commit", "abc"),
            "S\n\nSource-Commit: abc\n",
        );
    }

    #[test]
    fn refuses_ambiguous_messages() {
        for message in [
            CommitMessage::new(""),
            CommitMessage::new("two\nlines"),
            CommitMessage::new("s").with_trailer("Bad Key", "v"),
            CommitMessage::new("s").with_trailer("-lead", "v"),
            CommitMessage::new("s").with_trailer("K", " "),
            CommitMessage::new("s").with_trailer("K", "a\nb"),
        ] {
            assert!(message.render().is_err(), "{message:?}");
        }
    }

    #[test]
    fn identity_validation() {
        assert!(Identity::default().validate().is_ok());
        let bad = Identity {
            name: "A <b>".into(),
            email: "a@b".into(),
        };
        assert!(bad.validate().is_err());
    }
}
