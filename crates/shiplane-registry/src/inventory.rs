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
use crate::registry::{Registry, manifest_links};

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
}

/// Every tag of `repository` with its digest, sorted by tag.
///
/// `Ok(None)` when the repository does not exist (nothing was ever pushed to it). Fails on
/// anything else the registry refuses, such as listing not being allowed: no guessing.
pub async fn tagged_manifests(
    registry: &dyn Registry,
    repository: &str,
    concurrency: usize,
) -> Result<Option<Vec<TaggedManifest>>> {
    let tags = match registry.list_tags(repository).await {
        Ok(tags) => tags,
        Err(RegistryError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let resolved: Vec<Option<TaggedManifest>> = stream::iter(tags)
        .map(|tag| async move {
            match registry.resolve(repository, &tag).await {
                Ok(digest) => Ok(Some(TaggedManifest { tag, digest })),
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
    digest: &Digest,
) -> Result<Option<String>> {
    #[derive(Deserialize)]
    struct Config {
        #[serde(default)]
        created: Option<String>,
    }
    let mut manifest = registry
        .get_manifest(repository, &Reference::Digest(digest.clone()))
        .await?;
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
