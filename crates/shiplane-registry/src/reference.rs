//! Image references and image locations: the strings users write, parsed into typed values.
//!
//! This module owns the grammar of `host[:port]/repo/path[:tag][@sha256:…]` (Docker's rules,
//! including the Docker Hub normalisation `ubuntu` → `docker.io/library/ubuntu`) and of
//! `oci-layout:DIR[:[REPO:]TAG][@DIGEST]`. It is pure: it must not know about HTTP, credentials
//! or the filesystem beyond turning text into a path.

use std::fmt;
use std::path::PathBuf;

use crate::digest::Digest;
use crate::error::{RegistryError, Result};

/// The canonical name of Docker Hub in references.
pub const DOCKER_HUB: &str = "docker.io";
/// The host Docker Hub's registry API actually answers on.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// Longest reference text accepted, so parsing user input stays bounded.
const MAX_REFERENCE_LEN: usize = 1024;
/// Longest repository path (the distribution registry's limit).
const MAX_REPOSITORY_LEN: usize = 255;
/// Longest tag (the distribution spec's limit).
const MAX_TAG_LEN: usize = 128;

/// A manifest reference inside a repository: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reference {
    /// A mutable tag such as `v1.2.3`.
    Tag(String),
    /// An immutable content digest.
    Digest(Digest),
}

impl Reference {
    /// Parses a tag or a `sha256:` digest.
    pub fn parse(text: &str) -> Result<Self> {
        if text.contains(':') {
            Digest::parse(text).map(Self::Digest)
        } else {
            validate_tag(text, text)?;
            Ok(Self::Tag(text.to_owned()))
        }
    }

    /// The text used in a URL path or an index annotation.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Tag(tag) => tag,
            Self::Digest(digest) => digest.as_str(),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Digest> for Reference {
    fn from(digest: Digest) -> Self {
        Self::Digest(digest)
    }
}

/// A parsed remote image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageReference {
    /// The registry as written, normalised: `docker.io` for Docker Hub, otherwise `host[:port]`.
    pub registry: String,
    /// The repository path, e.g. `library/ubuntu` or `team/app`.
    pub repository: String,
    /// The tag, when one was given.
    pub tag: Option<String>,
    /// The digest, when one was given.
    pub digest: Option<Digest>,
}

impl ImageReference {
    /// Parses a reference with Docker's rules.
    ///
    /// The first path component is a registry host when it contains `.` or `:`, is
    /// `localhost`, or is a bracketed IPv6 address; otherwise the image is on Docker Hub and a
    /// single-component name gets the `library/` prefix.
    pub fn parse(input: &str) -> Result<Self> {
        if input.is_empty() {
            return Err(RegistryError::invalid_reference(input, "empty reference"));
        }
        if input.len() > MAX_REFERENCE_LEN {
            let head: String = input.chars().take(64).collect();
            return Err(RegistryError::invalid_reference(
                &head,
                format!("longer than {MAX_REFERENCE_LEN} characters"),
            ));
        }
        let (name_and_tag, digest) = match input.split_once('@') {
            Some((name, digest)) => (name, Some(Digest::parse(digest)?)),
            None => (input, None),
        };
        let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&name_and_tag[..at], Some(&name_and_tag[at + 1..]))
            }
            None => (name_and_tag, None),
        };
        if let Some(tag) = tag {
            validate_tag(input, tag)?;
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if looks_like_host(first) => {
                validate_host(input, first)?;
                (normalise_hub(first), rest.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), name.to_owned()),
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        validate_repository(input, &repository)?;
        Ok(Self {
            registry,
            repository,
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// The host (and port) the registry API answers on.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// The manifest reference to fetch: the digest when given, else the tag, else `latest`.
    pub fn reference(&self) -> Reference {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => Reference::Digest(digest.clone()),
            (None, Some(tag)) => Reference::Tag(tag.clone()),
            (None, None) => Reference::Tag("latest".to_owned()),
        }
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Where an image lives: a remote registry or an oci-layout directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageLocation {
    /// A remote registry reference.
    Remote(ImageReference),
    /// An image in an OCI image layout directory.
    Layout {
        /// The layout directory.
        dir: PathBuf,
        /// The repository inside the layout; empty for the layout's unnamed repository, whose
        /// tags are stored as bare `ref.name`s exactly like `skopeo`'s `oci:DIR:TAG`.
        repository: String,
        /// The tag, when one was given.
        tag: Option<String>,
        /// The digest, when one was given.
        digest: Option<Digest>,
    },
}

/// The prefix that selects an oci-layout directory instead of a remote registry.
pub const OCI_LAYOUT_PREFIX: &str = "oci-layout:";

impl ImageLocation {
    /// Parses `oci-layout:DIR[:NAME]` or a remote reference.
    ///
    /// As in skopeo's `oci:` transport, `DIR` ends at the first `:`; `NAME` is `TAG` (the
    /// unnamed repository), `REPO:TAG`, and either may end in `@sha256:…`.
    pub fn parse(input: &str) -> Result<Self> {
        let Some(rest) = input.strip_prefix(OCI_LAYOUT_PREFIX) else {
            return ImageReference::parse(input).map(Self::Remote);
        };
        let (dir, name) = match rest.split_once(':') {
            Some((dir, name)) => (dir, name),
            None => (rest, ""),
        };
        if dir.is_empty() {
            return Err(RegistryError::invalid_reference(
                input,
                "oci-layout needs a directory: oci-layout:DIR[:[REPO:]TAG]",
            ));
        }
        let (name, digest) = match name.split_once('@') {
            Some((name, digest)) => (name, Some(Digest::parse(digest)?)),
            None => (name, None),
        };
        let (repository, tag) = match name.split_once(':') {
            Some((repository, tag)) => (repository, Some(tag)),
            None if name.is_empty() => ("", None),
            None if digest.is_some() => (name, None),
            None => ("", Some(name)),
        };
        if !repository.is_empty() {
            validate_repository(input, repository)?;
        }
        if let Some(tag) = tag {
            validate_tag(input, tag)?;
        }
        Ok(Self::Layout {
            dir: PathBuf::from(dir),
            repository: repository.to_owned(),
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// The repository inside the registry or layout.
    pub fn repository(&self) -> &str {
        match self {
            Self::Remote(reference) => &reference.repository,
            Self::Layout { repository, .. } => repository,
        }
    }

    /// The tag, when one was given.
    pub fn tag(&self) -> Option<&str> {
        match self {
            Self::Remote(reference) => reference.tag.as_deref(),
            Self::Layout { tag, .. } => tag.as_deref(),
        }
    }

    /// The digest, when one was given.
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            Self::Remote(reference) => reference.digest.as_ref(),
            Self::Layout { digest, .. } => digest.as_ref(),
        }
    }

    /// The manifest reference: the digest when given, else the tag, else `latest`.
    pub fn reference(&self) -> Reference {
        match (self.digest(), self.tag()) {
            (Some(digest), _) => Reference::Digest(digest.clone()),
            (None, Some(tag)) => Reference::Tag(tag.to_owned()),
            (None, None) => Reference::Tag("latest".to_owned()),
        }
    }
}

fn looks_like_host(component: &str) -> bool {
    component.contains('.')
        || component.contains(':')
        || component == "localhost"
        || component.starts_with('[')
}

fn normalise_hub(host: &str) -> String {
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => DOCKER_HUB.to_owned(),
        other => other.to_owned(),
    }
}

fn validate_host(input: &str, host: &str) -> Result<()> {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let Some((address, after)) = rest.split_once(']') else {
            return Err(RegistryError::invalid_reference(
                input,
                "unclosed `[` in registry host",
            ));
        };
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(RegistryError::invalid_reference(
                input,
                format!("`{address}` is not an IPv6 address"),
            ));
        }
        match after {
            "" => (None, None),
            port => match port.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => {
                    return Err(RegistryError::invalid_reference(
                        input,
                        "unexpected text after the IPv6 address",
                    ));
                }
            },
        }
    } else {
        match host.split_once(':') {
            Some((name, port)) => (Some(name), Some(port)),
            None => (Some(host), None),
        }
    };
    if let Some(name) = name {
        let valid = !name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !valid {
            return Err(RegistryError::invalid_reference(
                input,
                format!("`{host}` is not a valid registry host"),
            ));
        }
    }
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(RegistryError::invalid_reference(
            input,
            format!("`{port}` is not a valid port"),
        ));
    }
    Ok(())
}

/// Checks a repository path: lowercase components joined by `/`, each
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn validate_repository(input: &str, repository: &str) -> Result<()> {
    if repository.is_empty() {
        return Err(RegistryError::invalid_reference(
            input,
            "empty repository name",
        ));
    }
    if repository.len() > MAX_REPOSITORY_LEN {
        return Err(RegistryError::invalid_reference(
            input,
            format!("repository name longer than {MAX_REPOSITORY_LEN} characters"),
        ));
    }
    if repository.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(RegistryError::invalid_reference(
            input,
            "repository names must be lowercase",
        ));
    }
    for component in repository.split('/') {
        if !valid_path_component(component) {
            return Err(RegistryError::invalid_reference(
                input,
                format!(
                    "`{component}` is not a valid repository path component (lowercase letters, \
                     digits, and single `.`, `_`, `__` or `-` runs between them)"
                ),
            ));
        }
    }
    Ok(())
}

fn valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        // A separator run: `.`, `_`, `__` or one or more `-`.
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let run = &component[start..i];
        let ok = run == "." || run == "_" || run == "__" || run.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn validate_tag(input: &str, tag: &str) -> Result<()> {
    let mut bytes = tag.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if first_ok && rest_ok && tag.len() <= MAX_TAG_LEN {
        Ok(())
    } else {
        Err(RegistryError::invalid_reference(
            input,
            format!(
                "`{tag}` is not a valid tag (letters, digits, `_`, `.`, `-`; not starting with \
                 `.` or `-`; at most {MAX_TAG_LEN} characters)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn check(input: &str, expected: Option<(&str, &str, Option<&str>, Option<&str>)>) {
        let parsed = ImageReference::parse(input);
        match expected {
            Some((registry, repository, tag, digest)) => {
                let r = parsed.unwrap_or_else(|e| panic!("{input}: {e}"));
                assert_eq!(r.registry, registry, "{input}");
                assert_eq!(r.repository, repository, "{input}");
                assert_eq!(r.tag.as_deref(), tag, "{input}");
                assert_eq!(r.digest.as_ref().map(Digest::as_str), digest, "{input}");
            }
            None => assert!(parsed.is_err(), "{input} should be rejected: {parsed:?}"),
        }
    }

    #[test]
    fn references() {
        check("ubuntu", Some(("docker.io", "library/ubuntu", None, None)));
        check(
            "ubuntu:22.04",
            Some(("docker.io", "library/ubuntu", Some("22.04"), None)),
        );
        check("team/app", Some(("docker.io", "team/app", None, None)));
        check(
            "docker.io/ubuntu",
            Some(("docker.io", "library/ubuntu", None, None)),
        );
        check(
            "index.docker.io/x/y:1",
            Some(("docker.io", "x/y", Some("1"), None)),
        );
        check(
            "ghcr.io/org/app:v1",
            Some(("ghcr.io", "org/app", Some("v1"), None)),
        );
        check(
            "127.0.0.1:5000/a/b/c:tag",
            Some(("127.0.0.1:5000", "a/b/c", Some("tag"), None)),
        );
        check("localhost/app", Some(("localhost", "app", None, None)));
        check(
            "localhost:5000/app:1",
            Some(("localhost:5000", "app", Some("1"), None)),
        );
        check(
            "[::1]:5000/app:1",
            Some(("[::1]:5000", "app", Some("1"), None)),
        );
        check(
            &format!("ghcr.io/org/app@{D}"),
            Some(("ghcr.io", "org/app", None, Some(D))),
        );
        check(
            &format!("ghcr.io/org/app:v1@{D}"),
            Some(("ghcr.io", "org/app", Some("v1"), Some(D))),
        );
        check(
            "my-registry.example:443/a__b/c-d.e_f",
            Some(("my-registry.example:443", "a__b/c-d.e_f", None, None)),
        );
        // Rejections.
        check("", None);
        check("Ubuntu", None);
        check("ghcr.io/Org/app", None);
        check("ghcr.io/org/app:", None);
        check("ghcr.io/org/app:-x", None);
        check("ghcr.io/org/app@sha256:abc", None);
        check("ghcr.io:notaport/app", None);
        check("ghcr.io/org//app", None);
        check("ghcr.io/org/app_", None);
        check("ghcr.io/org/a___b", None);
        check("[zz]:5000/app", None);
        check(&"a".repeat(2000), None);
    }

    #[test]
    fn api_host_and_display() {
        let r = ImageReference::parse("ubuntu:22.04").unwrap();
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(r.to_string(), "docker.io/library/ubuntu:22.04");
        assert_eq!(r.reference(), Reference::Tag("22.04".into()));
        let r = ImageReference::parse("h.io/a").unwrap();
        assert_eq!(r.reference(), Reference::Tag("latest".into()));
        let r = ImageReference::parse(&format!("h.io/a:t@{D}")).unwrap();
        assert_eq!(r.reference().as_str(), D);
    }

    #[test]
    fn layout_locations() {
        let check_layout = |input: &str, dir: &str, repo: &str, tag: Option<&str>, digest: bool| {
            let ImageLocation::Layout {
                dir: d,
                repository,
                tag: t,
                digest: g,
            } = ImageLocation::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"))
            else {
                panic!("{input} is not a layout");
            };
            assert_eq!(d, PathBuf::from(dir), "{input}");
            assert_eq!(repository, repo, "{input}");
            assert_eq!(t.as_deref(), tag, "{input}");
            assert_eq!(g.is_some(), digest, "{input}");
        };
        check_layout("oci-layout:/tmp/x", "/tmp/x", "", None, false);
        check_layout("oci-layout:/tmp/x:v1", "/tmp/x", "", Some("v1"), false);
        check_layout(
            "oci-layout:out:team/app:v1",
            "out",
            "team/app",
            Some("v1"),
            false,
        );
        check_layout(&format!("oci-layout:out:app@{D}"), "out", "app", None, true);
        check_layout(
            &format!("oci-layout:out:app:v1@{D}"),
            "out",
            "app",
            Some("v1"),
            true,
        );
        assert!(ImageLocation::parse("oci-layout:").is_err());
        assert!(ImageLocation::parse("oci-layout:x:Bad:v1").is_err());
        assert!(matches!(
            ImageLocation::parse("h.io/app:1").unwrap(),
            ImageLocation::Remote(_)
        ));
    }

    #[test]
    fn tag_and_digest_references() {
        assert_eq!(Reference::parse("v1").unwrap(), Reference::Tag("v1".into()));
        assert!(matches!(Reference::parse(D).unwrap(), Reference::Digest(_)));
        assert!(Reference::parse("a:b").is_err());
        assert!(Reference::parse(".x").is_err());
    }
}
