//! Moving images into and between stores: pushing a packed image and copying an image
//! digest-preservingly.
//!
//! This module owns the order of operations (blobs before the manifests that name them,
//! children before the index), skipping what the destination already has, and mounting
//! instead of copying within one registry. It works only through the [`Registry`] trait, so it
//! must not know whether either side is a remote registry or an oci-layout.

use std::future::Future;
use std::pin::Pin;

use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::pack::PackedImage;
use crate::reference::Reference;
use crate::registry::{Registry, manifest_links};

/// Nested indexes deeper than this are refused, so a cyclic or hostile index cannot recurse
/// forever.
const MAX_INDEX_DEPTH: usize = 8;

/// An image inside a store: a repository and a tag or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    /// The repository (empty for an oci-layout's unnamed repository).
    pub repository: String,
    /// The tag or digest.
    pub reference: Reference,
}

impl RepoRef {
    /// A repository and a tag or digest.
    pub fn new(repository: impl Into<String>, reference: Reference) -> Self {
        Self {
            repository: repository.into(),
            reference,
        }
    }
}

/// What a push or copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReport {
    /// The digest of the image's top manifest (identical at source and destination).
    pub digest: Digest,
    /// Manifests written (the top one and, for an index, its children that were missing).
    pub manifests_written: usize,
    /// Blobs transferred.
    pub blobs_copied: usize,
    /// Blobs mounted from another repository of the same registry.
    pub blobs_mounted: usize,
    /// Blobs the destination already had.
    pub blobs_skipped: usize,
    /// Bytes of blobs transferred.
    pub bytes_copied: u64,
}

impl TransferReport {
    fn new(digest: Digest) -> Self {
        Self {
            digest,
            manifests_written: 0,
            blobs_copied: 0,
            blobs_mounted: 0,
            blobs_skipped: 0,
            bytes_copied: 0,
        }
    }
}

/// Pushes a packed image: uploads the config and layer unless the repository has them, then
/// puts the manifest under `tag`. Returns the manifest digest, checked against the packed one.
pub async fn push_image(
    registry: &dyn Registry,
    repository: &str,
    tag: &str,
    packed: &PackedImage,
) -> Result<TransferReport> {
    let reference = Reference::parse(tag)?;
    let mut report = TransferReport::new(packed.digests.manifest.clone());
    for (digest, bytes) in [
        (&packed.digests.config, &packed.config_bytes),
        (&packed.digests.layer, &packed.layer_bytes),
    ] {
        if registry.blob_exists(repository, digest).await? {
            report.blobs_skipped += 1;
        } else {
            registry
                .upload_blob(repository, digest, bytes.clone())
                .await?;
            report.blobs_copied += 1;
            report.bytes_copied += bytes.len() as u64;
        }
    }
    let digest = registry
        .put_manifest(
            repository,
            &reference,
            packed.media_type(),
            packed.manifest_bytes.clone(),
        )
        .await?;
    if digest != packed.digests.manifest {
        return Err(RegistryError::DigestMismatch {
            what: format!("manifest pushed to {}/{repository}:{tag}", registry.name()),
            expected: packed.digests.manifest.to_string(),
            actual: digest.to_string(),
        });
    }
    report.manifests_written = 1;
    Ok(report)
}

/// Copies an image (a manifest with its blobs, or an index with every child manifest and
/// their blobs) from one store to another, preserving its digest.
///
/// Blobs the destination has are skipped; within one registry they are mounted from the source
/// repository. When `dst.reference` is a digest it must equal the source's.
pub async fn copy_image(
    src: &dyn Registry,
    src_ref: &RepoRef,
    dst: &dyn Registry,
    dst_ref: &RepoRef,
) -> Result<TransferReport> {
    let root = src
        .get_manifest(&src_ref.repository, &src_ref.reference)
        .await?;
    if let Reference::Digest(wanted) = &dst_ref.reference
        && wanted != &root.digest
    {
        return Err(RegistryError::DigestMismatch {
            what: format!(
                "copy of {}/{}:{} to a digest reference",
                src.name(),
                src_ref.repository,
                src_ref.reference
            ),
            expected: wanted.to_string(),
            actual: root.digest.to_string(),
        });
    }
    let mut copier = Copier {
        src,
        dst,
        src_repository: &src_ref.repository,
        dst_repository: &dst_ref.repository,
        same_storage: src.storage_key() == dst.storage_key(),
        report: TransferReport::new(root.digest.clone()),
    };
    copier
        .copy_contents(&root.digest, &root.media_type, &root.bytes, 0)
        .await?;
    let written = dst
        .put_manifest(
            &dst_ref.repository,
            &dst_ref.reference,
            &root.media_type,
            root.bytes.clone(),
        )
        .await?;
    if written != root.digest {
        return Err(RegistryError::DigestMismatch {
            what: format!("manifest copied to {}/{}", dst.name(), dst_ref.repository),
            expected: root.digest.to_string(),
            actual: written.to_string(),
        });
    }
    copier.report.manifests_written += 1;
    Ok(copier.report)
}

struct Copier<'a> {
    src: &'a dyn Registry,
    dst: &'a dyn Registry,
    src_repository: &'a str,
    dst_repository: &'a str,
    same_storage: bool,
    report: TransferReport,
}

impl Copier<'_> {
    /// Copies everything a manifest refers to (not the manifest itself).
    fn copy_contents<'s>(
        &'s mut self,
        digest: &'s Digest,
        media_type: &'s str,
        bytes: &'s [u8],
        depth: usize,
    ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 's>> {
        Box::pin(async move {
            if depth > MAX_INDEX_DEPTH {
                return Err(RegistryError::InvalidManifest {
                    reference: digest.to_string(),
                    detail: format!("indexes nested deeper than {MAX_INDEX_DEPTH}"),
                });
            }
            let links = manifest_links(digest.as_str(), media_type, bytes)?;
            for blob in &links.blobs {
                self.copy_blob(blob).await?;
            }
            for (child, _) in &links.manifests {
                if self
                    .dst
                    .head_digest(self.dst_repository, child)
                    .await?
                    .is_some()
                {
                    continue;
                }
                let manifest = self
                    .src
                    .get_manifest(self.src_repository, &Reference::Digest(child.clone()))
                    .await?;
                self.copy_contents(child, &manifest.media_type, &manifest.bytes, depth + 1)
                    .await?;
                self.dst
                    .put_manifest(
                        self.dst_repository,
                        &Reference::Digest(child.clone()),
                        &manifest.media_type,
                        manifest.bytes.clone(),
                    )
                    .await?;
                self.report.manifests_written += 1;
            }
            Ok(())
        })
    }

    async fn copy_blob(&mut self, digest: &Digest) -> Result<()> {
        if self.dst.blob_exists(self.dst_repository, digest).await? {
            self.report.blobs_skipped += 1;
            return Ok(());
        }
        if self.same_storage
            && self.src_repository != self.dst_repository
            && self
                .dst
                .mount_blob(self.dst_repository, digest, self.src_repository)
                .await?
        {
            self.report.blobs_mounted += 1;
            return Ok(());
        }
        let bytes = self.src.get_blob(self.src_repository, digest).await?;
        self.report.bytes_copied += bytes.len() as u64;
        self.dst
            .upload_blob(self.dst_repository, digest, bytes)
            .await?;
        self.report.blobs_copied += 1;
        Ok(())
    }
}
