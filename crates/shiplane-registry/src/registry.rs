//! The [`Registry`] trait: the operations every image store offers, remote or on disk.
//!
//! This module owns the contract callers program against, the manifest values passed across
//! it, and [`registry_from_ref`], which turns a user's `--to`/`--from` string into a store. It
//! must not know how a store is implemented: the HTTP client ([`crate::RegistryClient`]) and the
//! oci-layout ([`crate::OciLayout`]) implement it, and pack/push/copy use only the trait.
//!
//! The trait is `async` and object safe (through `async-trait`), so a `&dyn Registry` can be a
//! remote registry in one run and a directory in another.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use crate::client::{ClientOptions, RegistryClient};
use crate::credentials::CredentialSources;
use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::layout::OciLayout;
use crate::protocol::{OCI_INDEX_V1, OCI_MANIFEST_V1, RetryPolicy, is_index, is_known_manifest};
use crate::reference::{ImageLocation, Reference};

/// What a HEAD of a manifest says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestInfo {
    /// The manifest's media type.
    pub media_type: String,
    /// The manifest's size in bytes.
    pub size: u64,
}

/// A manifest as fetched: its bytes exactly as stored (they define the digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The media type (from `Content-Type`, or the document's `mediaType`).
    pub media_type: String,
    /// The digest of `bytes`, verified.
    pub digest: Digest,
    /// The raw manifest.
    pub bytes: Bytes,
}

impl Manifest {
    /// A manifest from its verified digest and bytes. The media type is `declared` (a
    /// `Content-Type` or an index descriptor's) when that is a manifest type, else the
    /// document's own `mediaType`, else guessed from its shape; anything else (a schema 1
    /// manifest, a blob) is refused.
    pub fn new(declared: Option<String>, digest: Digest, bytes: Bytes) -> Result<Self> {
        let media_type = declared
            .filter(|t| is_known_manifest(t))
            .or_else(|| detect_media_type(&bytes))
            .ok_or_else(|| RegistryError::InvalidManifest {
                reference: digest.to_string(),
                detail: "not an OCI or Docker schema 2 manifest or index".to_owned(),
            })?;
        Ok(Self {
            media_type,
            digest,
            bytes,
        })
    }
}

/// An image store: a registry host or an oci-layout directory.
///
/// Repositories are paths such as `team/app`. Every operation that returns content verifies it
/// against its digest. Implementations must be safe to share between tasks.
#[async_trait::async_trait]
pub trait Registry: Send + Sync + fmt::Debug {
    /// A name for messages: the registry host, or `oci-layout:DIR`.
    fn name(&self) -> String;

    /// Registries with equal storage keys share blob storage, so a blob can be mounted from
    /// one repository into another instead of being copied.
    fn storage_key(&self) -> String;

    /// The digest a tag points at.
    async fn resolve(&self, repository: &str, tag: &str) -> Result<Digest>;

    /// Whether a manifest with this digest exists, and its media type and size.
    async fn head_digest(&self, repository: &str, digest: &Digest) -> Result<Option<ManifestInfo>>;

    /// Fetches a manifest by tag or digest.
    async fn get_manifest(&self, repository: &str, reference: &Reference) -> Result<Manifest>;

    /// Stores a manifest under a tag (or by its digest) and returns its digest.
    async fn put_manifest(
        &self,
        repository: &str,
        reference: &Reference,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<Digest>;

    /// Whether the repository has this blob.
    async fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<bool>;

    /// Asks the store to link a blob from `from_repository` into `repository` without
    /// transferring it. `Ok(false)` means the store declined and the blob must be uploaded.
    async fn mount_blob(
        &self,
        repository: &str,
        digest: &Digest,
        from_repository: &str,
    ) -> Result<bool>;

    /// Uploads a blob; `bytes` must hash to `digest`.
    async fn upload_blob(&self, repository: &str, digest: &Digest, bytes: Bytes) -> Result<()>;

    /// Downloads a blob, verified against its digest.
    async fn get_blob(&self, repository: &str, digest: &Digest) -> Result<Bytes>;

    /// Every tag of the repository, sorted.
    async fn list_tags(&self, repository: &str) -> Result<Vec<String>>;

    /// Deletes a manifest (and so every tag on it) by digest.
    async fn delete_manifest(&self, repository: &str, digest: &Digest) -> Result<()>;
}

/// The digests a manifest refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestLinks {
    /// For an index: its child manifests, with their media types.
    pub manifests: Vec<(Digest, String)>,
    /// For an image manifest: the config blob then the layers.
    pub blobs: Vec<Digest>,
}

/// Reads the references out of a manifest or index.
pub fn manifest_links(reference: &str, media_type: &str, bytes: &[u8]) -> Result<ManifestLinks> {
    #[derive(Deserialize)]
    struct Descriptor {
        #[serde(rename = "mediaType", default)]
        media_type: String,
        digest: String,
    }
    #[derive(Deserialize)]
    struct Document {
        #[serde(default)]
        manifests: Vec<Descriptor>,
        config: Option<Descriptor>,
        #[serde(default)]
        layers: Vec<Descriptor>,
    }
    let invalid = |detail: String| RegistryError::InvalidManifest {
        reference: reference.to_owned(),
        detail,
    };
    if !is_known_manifest(media_type) {
        return Err(invalid(format!("unsupported media type `{media_type}`")));
    }
    let document: Document =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("not a manifest: {e}")))?;
    let digest = |d: &Descriptor| Digest::parse(&d.digest).map_err(|e| invalid(e.to_string()));
    let mut links = ManifestLinks::default();
    if is_index(media_type) {
        for child in &document.manifests {
            links
                .manifests
                .push((digest(child)?, child.media_type.clone()));
        }
    } else {
        let config = document
            .config
            .as_ref()
            .ok_or_else(|| invalid("an image manifest needs a config".to_owned()))?;
        links.blobs.push(digest(config)?);
        for layer in &document.layers {
            links.blobs.push(digest(layer)?);
        }
    }
    Ok(links)
}

/// The `mediaType` field of a manifest document, for stores that keep no content type.
fn media_type_of(bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Head {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Head>(bytes).ok()?.media_type
}

/// The media type of a manifest document: its `mediaType`, or its shape when it has none.
pub(crate) fn detect_media_type(bytes: &[u8]) -> Option<String> {
    if let Some(media_type) = media_type_of(bytes) {
        return is_known_manifest(&media_type).then_some(media_type);
    }
    let value: Value = serde_json::from_slice(bytes).ok()?;
    if value.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return None;
    }
    if value.get("manifests").is_some() {
        Some(OCI_INDEX_V1.to_owned())
    } else if value.get("config").is_some() {
        Some(OCI_MANIFEST_V1.to_owned())
    } else {
        None
    }
}

/// How remote registries are reached.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Registry hosts (`host[:port]`) that may be spoken to over plain HTTP although they are
    /// not loopback.
    pub insecure_registries: BTreeSet<String>,
    /// Where credentials come from.
    pub credentials: CredentialSources,
    /// Retry policy for transient failures.
    pub retry: RetryPolicy,
    /// Connect, inactivity and per-request limits (`SHIPLANE_NETWORK_TIMEOUT`).
    pub timeouts: shiplane_http::NetworkTimeouts,
}

/// A store opened from a location string, with the repository and reference it named.
#[derive(Debug, Clone)]
pub struct OpenedLocation {
    /// The store.
    pub registry: Arc<dyn Registry>,
    /// What the string said.
    pub location: ImageLocation,
}

/// Opens the store a location string names: `oci-layout:DIR[:[REPO:]TAG]` (created if missing)
/// or a remote reference such as `ghcr.io/org/app:v1`.
pub fn registry_from_ref(input: &str, options: &ConnectOptions) -> Result<OpenedLocation> {
    let location = ImageLocation::parse(input)?;
    let registry: Arc<dyn Registry> = match &location {
        ImageLocation::Layout { dir, .. } => Arc::new(OciLayout::open_or_create(dir)?),
        ImageLocation::Remote(reference) => {
            let credentials = options.credentials.lookup(&reference.registry)?;
            let client = RegistryClient::new(
                reference.api_host(),
                ClientOptions {
                    insecure: options.insecure_registries.contains(&reference.registry)
                        || options.insecure_registries.contains(reference.api_host()),
                    credentials,
                    retry: options.retry,
                    timeouts: options.timeouts,
                },
            )?;
            Arc::new(client)
        }
    };
    Ok(OpenedLocation { registry, location })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{OCI_INDEX_V1, OCI_MANIFEST_V1};

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn links_of_manifest_and_index() {
        let manifest = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"c","digest":"{A}","size":1}},"layers":[{{"mediaType":"l","digest":"{B}","size":2}}]}}"#
        );
        let links = manifest_links("x", OCI_MANIFEST_V1, manifest.as_bytes()).unwrap();
        assert_eq!(links.blobs.len(), 2);
        assert!(links.manifests.is_empty());
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST_V1}","digest":"{A}","size":1}}]}}"#
        );
        let links = manifest_links("x", OCI_INDEX_V1, index.as_bytes()).unwrap();
        assert_eq!(
            links.manifests,
            vec![(Digest::parse(A).unwrap(), OCI_MANIFEST_V1.into())]
        );
        assert!(manifest_links("x", "application/json", b"{}").is_err());
        assert!(manifest_links("x", OCI_MANIFEST_V1, b"{}").is_err());
        assert_eq!(
            media_type_of(format!(r#"{{"mediaType":"{OCI_INDEX_V1}"}}"#).as_bytes()).as_deref(),
            Some(OCI_INDEX_V1)
        );
    }
}
