//! Remote addresses: parsing, credential stripping and redaction.
//!
//! This module owns the rule that a credential never reaches git's argv, a cache path, an
//! error or a log line. A token written into an `https://user:token@host/…` address is taken
//! out here and handed to git through the environment of the child process (read back by the
//! askpass helper); what git is given and what people are shown is the address without it.
//! It knows nothing about git processes or repositories.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::GitopsError;

/// How the remote is reached; decides which credentials make sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RemoteKind {
    /// A path on this machine (given plainly or as `file://`).
    Local,
    /// `git://` (the git daemon): no authentication.
    Daemon,
    /// `http://` or `https://`: token through askpass.
    Http,
    /// `ssh://` or `user@host:path`: keys from the agent or ssh config.
    Ssh,
}

/// A parsed remote.
#[derive(Debug, Clone)]
pub(crate) struct Remote {
    /// What git is given: never contains a password or token.
    pub(crate) url: String,
    /// How the remote is reached.
    pub(crate) kind: RemoteKind,
    /// The user name taken out of an `https://user:token@…` address.
    pub(crate) username: Option<String>,
    /// The token taken out of an `https://user:token@…` address.
    pub(crate) token: Option<String>,
}

impl Remote {
    /// Parses `remote`: a local path, `file://`, `git://`, `http(s)://`, `ssh://` or the
    /// scp-like `user@host:path`. Relative local paths are made absolute against the current
    /// directory so the mirror's key does not depend on where the process was started.
    pub(crate) fn parse(remote: &str) -> Result<Remote, GitopsError> {
        let trimmed = remote.trim();
        if trimmed.is_empty() {
            return Err(invalid(remote, "the remote is empty"));
        }
        if trimmed.contains(['\n', '\r', '\0']) {
            return Err(invalid(remote, "the remote contains a control character"));
        }
        if let Some((scheme, rest)) = trimmed.split_once("://") {
            return parse_url(remote, &scheme.to_ascii_lowercase(), rest);
        }
        if is_scp_like(trimmed) {
            return Ok(Remote {
                url: trimmed.to_owned(),
                kind: RemoteKind::Ssh,
                username: None,
                token: None,
            });
        }
        Ok(Remote {
            url: absolute_local(Path::new(trimmed)),
            kind: RemoteKind::Local,
            username: None,
            token: None,
        })
    }

    /// The address as shown to people: [`Remote::url`] already holds no secret.
    pub(crate) fn display(&self) -> &str {
        &self.url
    }

    /// A stable, credential-free key for the local mirror's directory name.
    pub(crate) fn cache_key(&self) -> String {
        let digest = Sha256::digest(self.url.as_bytes());
        hex::encode(&digest[..12])
    }

    /// Removes every credential this remote carried from `text` (git's output, say), and
    /// any `scheme://user:secret@` userinfo git might echo.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = redact_url_userinfo(text);
        if let Some(token) = &self.token {
            // Very short "tokens" are not secrets worth mangling every message for.
            if token.len() >= 4 {
                out = out.replace(token.as_str(), "***");
            }
        }
        if let Ok(token) = std::env::var(crate::git::TOKEN_ENV)
            && token.len() >= 4
        {
            out = out.replace(token.as_str(), "***");
        }
        out
    }
}

fn invalid(remote: &str, reason: &str) -> GitopsError {
    GitopsError::InvalidRemote {
        remote: redact_url_userinfo(remote),
        reason: reason.to_owned(),
    }
}

fn parse_url(original: &str, scheme: &str, rest: &str) -> Result<Remote, GitopsError> {
    let kind = match scheme {
        "file" => RemoteKind::Local,
        "git" => RemoteKind::Daemon,
        "http" | "https" => RemoteKind::Http,
        "ssh" | "git+ssh" | "ssh+git" => RemoteKind::Ssh,
        _ => {
            return Err(invalid(
                original,
                "unsupported scheme; use a path, file://, git://, https:// or ssh://",
            ));
        }
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    if kind != RemoteKind::Local && host.is_empty() {
        return Err(invalid(original, "the address has no host"));
    }
    let mut username = None;
    let mut token = None;
    let mut kept_user = None;
    if let Some(info) = userinfo {
        let (user, secret) = match info.split_once(':') {
            Some((u, s)) => (u, Some(s)),
            None => (info, None),
        };
        match kind {
            RemoteKind::Http => {
                username = Some(percent_decode(user)).filter(|u| !u.is_empty());
                token = secret.map(percent_decode).filter(|s| !s.is_empty());
                // A lone `https://TOKEN@host` is how several forges take a token.
                if token.is_none() && secret.is_none() {
                    token = username.take();
                }
            }
            // An ssh user name is not a secret (`ssh://git@host/…`); a password is dropped,
            // since ssh cannot take one non-interactively anyway.
            RemoteKind::Ssh => kept_user = Some(user.to_owned()),
            RemoteKind::Local | RemoteKind::Daemon => {}
        }
    }
    let url = match kept_user {
        Some(user) => format!("{scheme}://{user}@{host}{path}"),
        None => format!("{scheme}://{host}{path}"),
    };
    Ok(Remote {
        url,
        kind,
        username,
        token,
    })
}

/// git's rule: `host:path` is scp-like ssh when the colon comes before any slash.
fn is_scp_like(s: &str) -> bool {
    match (s.find(':'), s.find('/')) {
        (Some(colon), Some(slash)) => colon < slash && colon > 0,
        (Some(colon), None) => colon > 0,
        _ => false,
    }
}

fn absolute_local(path: &Path) -> String {
    let absolute: PathBuf = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path))
    };
    let resolved = absolute.canonicalize().unwrap_or(absolute);
    resolved.to_string_lossy().into_owned()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Replaces the userinfo of every `scheme://userinfo@host` in `text` with `***`.
///
/// Works on any text (git's stderr, a message quoting an address), not only on one URL.
pub fn redact_url_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        let end = after
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, url: &str, kind: RemoteKind, user: Option<&str>, token: Option<&str>) {
        let r = Remote::parse(input).expect("parses");
        assert_eq!(r.url, url, "url of {input}");
        assert_eq!(r.kind, kind, "kind of {input}");
        assert_eq!(r.username.as_deref(), user, "user of {input}");
        assert_eq!(r.token.as_deref(), token, "token of {input}");
    }

    #[test]
    fn parses_every_supported_form() {
        check(
            "https://x-access-token:s3cret@example.com/org/gitops.git",
            "https://example.com/org/gitops.git",
            RemoteKind::Http,
            Some("x-access-token"),
            Some("s3cret"),
        );
        check(
            "https://ghp_abc123@example.com/o/r",
            "https://example.com/o/r",
            RemoteKind::Http,
            None,
            Some("ghp_abc123"),
        );
        check(
            "https://example.com/o/r",
            "https://example.com/o/r",
            RemoteKind::Http,
            None,
            None,
        );
        check(
            "https://u:p%40ss@example.com/r",
            "https://example.com/r",
            RemoteKind::Http,
            Some("u"),
            Some("p@ss"),
        );
        check(
            "ssh://git@example.com:2222/o/r.git",
            "ssh://git@example.com:2222/o/r.git",
            RemoteKind::Ssh,
            None,
            None,
        );
        check(
            "ssh://git:pw@example.com/r",
            "ssh://git@example.com/r",
            RemoteKind::Ssh,
            None,
            None,
        );
        check(
            "git@example.com:o/r.git",
            "git@example.com:o/r.git",
            RemoteKind::Ssh,
            None,
            None,
        );
        check(
            "git://127.0.0.1:9418/r.git",
            "git://127.0.0.1:9418/r.git",
            RemoteKind::Daemon,
            None,
            None,
        );
        check(
            "file:///srv/git/r.git",
            "file:///srv/git/r.git",
            RemoteKind::Local,
            None,
            None,
        );
        check(
            "/srv/nonexistent/r.git",
            "/srv/nonexistent/r.git",
            RemoteKind::Local,
            None,
            None,
        );
    }

    #[test]
    fn refuses_unknown_schemes_without_echoing_secrets() {
        let err = Remote::parse("ftp://user:hunter22@example.com/r").expect_err("refused");
        let text = err.to_string();
        assert!(!text.contains("hunter22"), "{text}");
        assert!(text.contains("ftp://***@example.com/r"), "{text}");
        assert!(Remote::parse("  ").is_err());
        assert!(Remote::parse("https:///nohost").is_err());
    }

    #[test]
    fn redacts_userinfo_anywhere_in_text() {
        assert_eq!(
            redact_url_userinfo("fatal: unable to access 'https://u:tok@h/r/': 403"),
            "fatal: unable to access 'https://***@h/r/': 403"
        );
        assert_eq!(
            redact_url_userinfo("a https://h/r and ssh://git@h:22/x"),
            "a https://h/r and ssh://***@h:22/x"
        );
        assert_eq!(redact_url_userinfo("no url"), "no url");
    }

    #[test]
    fn scrub_removes_the_token_even_outside_urls() {
        let r = Remote::parse("https://u:tok-12345@h/r").expect("parses");
        assert_eq!(r.scrub("token tok-12345 leaked"), "token *** leaked");
    }

    #[test]
    fn cache_key_ignores_credentials_and_is_stable() {
        let a = Remote::parse("https://u:one@h/r").expect("parses");
        let b = Remote::parse("https://u:two@h/r").expect("parses");
        assert_eq!(a.cache_key(), b.cache_key());
        assert_eq!(a.cache_key().len(), 24);
        assert!(!a.cache_key().contains("one"));
    }
}
