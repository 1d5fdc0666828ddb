//! What a repository holds: every tag with the manifest digest it points at, and when an image
//! was created. This is the read side of registry retention; deciding what may go belongs to
//! the caller.
//!
//! Resolving tags is one request per tag, so a repository with thousands of tags is resolved
//! with several requests in flight at once (the client keeps its connections alive). A tag
//! deleted between the listing and its resolution is simply gone, not an error.

use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use serde::Deserialize;

use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::protocol::is_index;
use crate::reference::Reference;
use crate::registry::{Manifest, Registry, manifest_links};

/// Requests in flight at once while resolving tags. Enough to hide a round trip to a nearby
/// registry; small enough not to be mistaken for abuse by a hosted one.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// One tag and the manifest it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedManifest {
    /// The tag.
    pub tag: String,
    /// The digest of the manifest (or index) it points at.
    pub digest: Digest,
    /// The manifest itself, when it was asked for.
    pub manifest: Option<Manifest>,
}

/// Every tag of `repository` with its digest, sorted by tag; with `with_manifests`, each
/// manifest too (a GET instead of a HEAD: a registry spends about the same on either, and the
/// body spares a second request when the image's config is wanted).
///
/// `Ok(None)` when the repository does not exist (nothing was ever pushed to it). Fails on
/// anything else the registry refuses, such as listing not being allowed: no guessing.
pub async fn tagged_manifests(
    registry: &dyn Registry,
    repository: &str,
    concurrency: usize,
    with_manifests: bool,
) -> Result<Option<Vec<TaggedManifest>>> {
    let tags = match registry.list_tags(repository).await {
        Ok(tags) => tags,
        Err(RegistryError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let resolved: Vec<Option<TaggedManifest>> = stream::iter(tags)
        .map(|tag| async move {
            let found = if with_manifests {
                registry
                    .get_manifest(repository, &Reference::parse(&tag)?)
                    .await
                    .map(|m| (m.digest.clone(), Some(m)))
            } else {
                registry.resolve(repository, &tag).await.map(|d| (d, None))
            };
            match found {
                Ok((digest, manifest)) => Ok(Some(TaggedManifest {
                    tag,
                    digest,
                    manifest,
                })),
                // Deleted since the listing: it is not there any more.
                Err(RegistryError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(Some(resolved.into_iter().flatten().collect()))
}

/// When the image a manifest describes was created: the `created` field of its config (for an
/// index, of its first child's config). `None` when the image does not say — reproducible
/// builds such as `shiplane image pack` leave it out on purpose.
pub async fn created_at(
    registry: &dyn Registry,
    repository: &str,
    manifest: &Manifest,
) -> Result<Option<String>> {
    #[derive(Deserialize)]
    struct Config {
        #[serde(default)]
        created: Option<String>,
    }
    let digest = &manifest.digest;
    let mut manifest = manifest.clone();
    if is_index(&manifest.media_type) {
        let links = manifest_links(digest.as_str(), &manifest.media_type, &manifest.bytes)?;
        let Some((child, _)) = links.manifests.first() else {
            return Ok(None);
        };
        manifest = registry
            .get_manifest(repository, &Reference::Digest(child.clone()))
            .await?;
        if is_index(&manifest.media_type) {
            return Ok(None);
        }
    }
    let links = manifest_links(digest.as_str(), &manifest.media_type, &manifest.bytes)?;
    // The config is the first blob a manifest names.
    let Some(config) = links.blobs.first() else {
        return Ok(None);
    };
    let bytes = registry.get_blob(repository, config).await?;
    Ok(serde_json::from_slice::<Config>(&bytes)
        .ok()
        .and_then(|c| c.created)
        .filter(|c| !c.is_empty()))
}

/// Puts the manifest `digest` of `repository` under `tag` as well (a tag is a name for a
/// manifest: nothing but the manifest is written). Returns `false` when the tag already
/// pointed there and nothing was written.
pub async fn retag(
    registry: &dyn Registry,
    repository: &str,
    digest: &Digest,
    tag: &str,
) -> Result<bool> {
    match registry.resolve(repository, tag).await {
        Ok(current) if &current == digest => return Ok(false),
        Ok(_) | Err(RegistryError::NotFound { .. }) => {}
        Err(e) => return Err(e),
    }
    let manifest = registry
        .get_manifest(repository, &Reference::Digest(digest.clone()))
        .await?;
    let written = registry
        .put_manifest(
            repository,
            &Reference::parse(tag)?,
            &manifest.media_type,
            manifest.bytes,
        )
        .await?;
    if &written != digest {
        return Err(RegistryError::DigestMismatch {
            what: format!("manifest tagged {}/{repository}:{tag}", registry.name()),
            expected: digest.to_string(),
            actual: written.to_string(),
        });
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::layout::OciLayout;
    use crate::protocol::{OCI_CONFIG_V1, OCI_LAYER_TAR_GZIP, OCI_MANIFEST_V1};

    /// Stores an image whose config says `created` (or nothing) and tags it.
    async fn image(layout: &OciLayout, created: Option<&str>, layer: &[u8], tag: &str) -> Digest {
        let config = match created {
            Some(c) => format!(r#"{{"architecture":"amd64","os":"linux","created":"{c}"}}"#),
            None => r#"{"architecture":"amd64","os":"linux"}"#.to_owned(),
        };
        let mut descriptors = Vec::new();
        for bytes in [config.as_bytes(), layer] {
            let digest = Digest::sha256_of(bytes);
            layout
                .upload_blob("app", &digest, Bytes::copy_from_slice(bytes))
                .await
                .unwrap();
            descriptors.push((digest, bytes.len()));
        }
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST_V1}","config":{{"mediaType":"{OCI_CONFIG_V1}","digest":"{}","size":{}}},"layers":[{{"mediaType":"{OCI_LAYER_TAR_GZIP}","digest":"{}","size":{}}}]}}"#,
            descriptors[0].0, descriptors[0].1, descriptors[1].0, descriptors[1].1
        );
        layout
            .put_manifest(
                "app",
                &Reference::Tag(tag.to_owned()),
                OCI_MANIFEST_V1,
                Bytes::from(manifest),
            )
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn lists_tags_with_digests_manifests_and_creation_times() {
        let dir = tempfile::tempdir().unwrap();
        let layout = OciLayout::open_or_create(dir.path()).unwrap();
        let dated = image(&layout, Some("2024-05-01T10:00:00Z"), b"one", "v1").await;
        let undated = image(&layout, None, b"two", "v2").await;
        retag(&layout, "app", &dated, "latest").await.unwrap();
        assert!(
            !retag(&layout, "app", &dated, "latest").await.unwrap(),
            "already there"
        );

        let plain = tagged_manifests(&layout, "app", 4, false)
            .await
            .unwrap()
            .unwrap();
        let names: Vec<(&str, &Digest)> =
            plain.iter().map(|t| (t.tag.as_str(), &t.digest)).collect();
        assert_eq!(
            names,
            [("latest", &dated), ("v1", &dated), ("v2", &undated)]
        );
        assert!(plain.iter().all(|t| t.manifest.is_none()));

        let full = tagged_manifests(&layout, "app", 4, true)
            .await
            .unwrap()
            .unwrap();
        let v1 = full.iter().find(|t| t.tag == "v1").unwrap();
        let v2 = full.iter().find(|t| t.tag == "v2").unwrap();
        assert_eq!(
            created_at(&layout, "app", v1.manifest.as_ref().unwrap())
                .await
                .unwrap()
                .as_deref(),
            Some("2024-05-01T10:00:00Z")
        );
        assert_eq!(
            created_at(&layout, "app", v2.manifest.as_ref().unwrap())
                .await
                .unwrap(),
            None
        );
        assert!(
            tagged_manifests(&layout, "nothing-here", 4, false)
                .await
                .unwrap()
                .is_none_or(|t| t.is_empty())
        );
    }
}
