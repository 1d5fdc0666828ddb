//! `oci-layout:DIR`: an OCI image layout directory used as a registry.
//!
//! This module owns reading and writing a standard image layout (`oci-layout`, `index.json`,
//! `blobs/sha256/…`) with atomic writes and a lock around every `index.json` update, and
//! implements [`Registry`] over it. It must not know about HTTP or credentials.
//!
//! **Tags and repositories.** A layout has one `index.json`, so repositories are encoded in the
//! `org.opencontainers.image.ref.name` annotation: the unnamed repository (`""`) stores a tag
//! as the bare `TAG`, exactly like skopeo's `oci:DIR:TAG`; any other repository stores
//! `REPO:TAG`, which skopeo reads and writes as `oci:DIR:REPO:TAG` (the OCI ref.name grammar
//! allows `:` and `/`). A single-repository layout written by skopeo is therefore our unnamed
//! repository, and ours is readable by skopeo either way. A ref.name is split at its last `:`
//! (tags cannot contain one); names without `:` belong to the unnamed repository.
//!
//! **Concurrency.** Blobs are content-addressed and written to a temporary file then renamed,
//! so writers never see partial blobs and racing writers of one blob are harmless. Every
//! change to `index.json` (and the write of a manifest blob, and a delete) happens while
//! holding an exclusive `flock` on `index.json.lock`, re-reading the index inside the lock, so
//! parallel processes do not lose each other's tags. The lock is released when the file is
//! closed, so a crashed writer cannot leave a stale lock behind.
//!
//! **Deletes** remove the repository's index entries for a digest, and the manifest blob when
//! nothing else in the index still refers to it; config and layer blobs stay until a garbage
//! collection, as in a distribution registry.

use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher as _, Hasher as _};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::protocol::OCI_INDEX_V1;
use crate::reference::Reference;
use crate::registry::{Manifest, ManifestInfo, Registry, detect_media_type, manifest_links};

/// The annotation that names a manifest in `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Manifests larger than this are not read to detect a media type.
const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// An OCI image layout directory.
#[derive(Debug, Clone)]
pub struct OciLayout {
    dir: PathBuf,
}

/// The `ref.name` for a tag of a repository (see the module docs).
pub fn ref_name(repository: &str, tag: &str) -> String {
    if repository.is_empty() {
        tag.to_owned()
    } else {
        format!("{repository}:{tag}")
    }
}

/// Splits a `ref.name` into repository and tag (see the module docs).
pub fn split_ref_name(name: &str) -> (&str, &str) {
    name.rsplit_once(':').unwrap_or(("", name))
}

impl OciLayout {
    /// Opens a layout, creating the directory, `oci-layout`, `index.json` and `blobs/sha256`
    /// when they are missing.
    pub fn open_or_create(dir: impl Into<PathBuf>) -> Result<Self> {
        let layout = Self { dir: dir.into() };
        let blobs = layout.dir.join("blobs").join("sha256");
        fs::create_dir_all(&blobs).map_err(|e| RegistryError::io("creating", &blobs, e))?;
        let marker = layout.dir.join("oci-layout");
        match fs::read(&marker) {
            Ok(bytes) => layout.check_marker(&bytes)?,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                layout.write_atomic(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
            }
            Err(e) => return Err(RegistryError::io("reading", &marker, e)),
        }
        if !layout.index_path().exists() {
            layout.update_index(|_| Ok(()))?;
        }
        Ok(layout)
    }

    /// Opens an existing layout; fails when `oci-layout` is missing.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let layout = Self { dir: dir.into() };
        let marker = layout.dir.join("oci-layout");
        let bytes = fs::read(&marker).map_err(|e| RegistryError::io("reading", &marker, e))?;
        layout.check_marker(&bytes)?;
        Ok(layout)
    }

    /// The layout directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn check_marker(&self, bytes: &[u8]) -> Result<()> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| self.invalid(format!("oci-layout: {e}")))?;
        match value.get("imageLayoutVersion").and_then(Value::as_str) {
            Some("1.0.0") => Ok(()),
            other => Err(self.invalid(format!(
                "unsupported imageLayoutVersion {other:?} (expected \"1.0.0\")"
            ))),
        }
    }

    fn invalid(&self, detail: String) -> RegistryError {
        RegistryError::Layout {
            path: self.dir.clone(),
            detail,
        }
    }

    fn index_path(&self) -> PathBuf {
        self.dir.join("index.json")
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs").join("sha256").join(digest.hex())
    }

    fn not_found(
        &self,
        repository: &str,
        what: &'static str,
        reference: &str,
        code: &str,
    ) -> RegistryError {
        RegistryError::NotFound {
            registry: format!("oci-layout:{}", self.dir.display()),
            repository: repository.to_owned(),
            what,
            reference: reference.to_owned(),
            code: code.to_owned(),
        }
    }

    /// Writes `bytes` to `path` through a temporary file in the layout and a rename.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let mut hasher = std::hash::RandomState::new().build_hasher();
        hasher.write_u64(TEMP_COUNTER.fetch_add(1, Ordering::Relaxed));
        let temp = self.dir.join(format!(
            ".shiplane-tmp-{}-{:016x}",
            std::process::id(),
            hasher.finish()
        ));
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&temp, path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&temp);
            RegistryError::io("writing", path, e)
        })
    }

    fn read_index(&self) -> Result<Vec<Value>> {
        let path = self.index_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(RegistryError::io("reading", &path, e)),
        };
        let index: Value =
            serde_json::from_slice(&bytes).map_err(|e| self.invalid(format!("index.json: {e}")))?;
        match index.get("manifests") {
            Some(Value::Array(manifests)) => Ok(manifests.clone()),
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(_) => Err(self.invalid("index.json: `manifests` is not a list".to_owned())),
        }
    }

    /// Runs `change` on the index's manifest list under the lock and writes the result.
    fn update_index<R>(&self, change: impl FnOnce(&mut Vec<Value>) -> Result<R>) -> Result<R> {
        let lock_path = self.dir.join("index.json.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| RegistryError::io("opening", &lock_path, e))?;
        lock.lock()
            .map_err(|e| RegistryError::io("locking", &lock_path, e))?;
        let path = self.index_path();
        let mut index = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<Map<String, Value>>(&bytes)
                .map_err(|e| self.invalid(format!("index.json: {e}")))?,
            Err(e) if e.kind() == ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(RegistryError::io("reading", &path, e)),
        };
        let mut manifests = match index.remove("manifests") {
            Some(Value::Array(manifests)) => manifests,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(self.invalid("index.json: `manifests` is not a list".to_owned())),
        };
        let result = change(&mut manifests)?;
        let mut out = Map::new();
        out.insert("schemaVersion".to_owned(), json!(2));
        out.insert("mediaType".to_owned(), json!(OCI_INDEX_V1));
        out.insert("manifests".to_owned(), Value::Array(manifests));
        for (key, value) in index {
            out.entry(key).or_insert(value);
        }
        let bytes = serde_json::to_vec(&Value::Object(out))
            .map_err(|e| self.invalid(format!("cannot serialise index.json: {e}")))?;
        self.write_atomic(&path, &bytes)?;
        drop(lock);
        Ok(result)
    }

    fn write_blob(&self, digest: &Digest, bytes: &[u8]) -> Result<()> {
        digest.verify(bytes, "blob to write")?;
        let path = self.blob_path(digest);
        if path.exists() {
            return Ok(());
        }
        self.write_atomic(&path, bytes)
    }

    fn read_blob(&self, repository: &str, digest: &Digest, what: &'static str) -> Result<Bytes> {
        let path = self.blob_path(digest);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let code = if what == "blob" {
                    "BLOB_UNKNOWN"
                } else {
                    "MANIFEST_UNKNOWN"
                };
                return Err(self.not_found(repository, what, digest.as_str(), code));
            }
            Err(e) => return Err(RegistryError::io("reading", &path, e)),
        };
        digest.verify(&bytes, &format!("{what} {} in oci-layout", path.display()))?;
        Ok(Bytes::from(bytes))
    }

    fn entries_named<'a>(manifests: &'a [Value], name: &str) -> impl Iterator<Item = &'a Value> {
        manifests
            .iter()
            .filter(move |m| entry_ref_name(m) == Some(name))
    }

    fn resolve_sync(&self, repository: &str, tag: &str) -> Result<(Digest, Option<String>)> {
        let manifests = self.read_index()?;
        let name = ref_name(repository, tag);
        let entry = Self::entries_named(&manifests, &name)
            .last()
            .ok_or_else(|| self.not_found(repository, "manifest", tag, "MANIFEST_UNKNOWN"))?;
        let digest = entry
            .get("digest")
            .and_then(Value::as_str)
            .ok_or_else(|| self.invalid(format!("index.json entry `{name}` has no digest")))
            .and_then(|d| Digest::parse(d).map_err(|e| self.invalid(e.to_string())))?;
        let media_type = entry
            .get("mediaType")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok((digest, media_type))
    }

    fn get_manifest_sync(&self, repository: &str, reference: &Reference) -> Result<Manifest> {
        let (digest, indexed_type) = match reference {
            Reference::Tag(tag) => self.resolve_sync(repository, tag)?,
            Reference::Digest(digest) => (digest.clone(), None),
        };
        let bytes = self.read_blob(repository, &digest, "manifest")?;
        Manifest::new(indexed_type, digest, bytes)
    }

    fn head_digest_sync(&self, digest: &Digest) -> Result<Option<ManifestInfo>> {
        let path = self.blob_path(digest);
        let size = match fs::metadata(&path) {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(RegistryError::io("reading", &path, e)),
        };
        if size > MAX_MANIFEST_SIZE {
            return Ok(None);
        }
        let bytes = fs::read(&path).map_err(|e| RegistryError::io("reading", &path, e))?;
        if Digest::sha256_of(&bytes) != *digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob {} in oci-layout", path.display()),
                expected: digest.to_string(),
                actual: Digest::sha256_of(&bytes).to_string(),
            });
        }
        Ok(detect_media_type(&bytes).map(|media_type| ManifestInfo { media_type, size }))
    }

    fn put_manifest_sync(
        &self,
        repository: &str,
        reference: &Reference,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest> {
        let digest = Digest::sha256_of(bytes);
        if let Reference::Digest(expected) = reference {
            expected.verify(bytes, "manifest to put")?;
        }
        // Like a registry, refuse a manifest whose blobs or children are missing.
        let links = manifest_links(&format!("{repository}:{reference}"), media_type, bytes)?;
        for (child, _) in &links.manifests {
            if !self.blob_path(child).exists() {
                return Err(self.not_found(
                    repository,
                    "manifest",
                    child.as_str(),
                    "MANIFEST_UNKNOWN",
                ));
            }
        }
        for blob in &links.blobs {
            if !self.blob_path(blob).exists() {
                return Err(self.not_found(
                    repository,
                    "blob",
                    blob.as_str(),
                    "MANIFEST_BLOB_UNKNOWN",
                ));
            }
        }
        let size = bytes.len();
        self.update_index(|manifests| {
            self.write_blob(&digest, bytes)?;
            if let Reference::Tag(tag) = reference {
                let name = ref_name(repository, tag);
                manifests.retain(|m| entry_ref_name(m) != Some(name.as_str()));
                manifests.push(json!({
                    "mediaType": media_type,
                    "digest": digest.as_str(),
                    "size": size,
                    "annotations": { REF_NAME: name },
                }));
            }
            Ok(())
        })?;
        Ok(digest)
    }

    fn list_tags_sync(&self, repository: &str) -> Result<Vec<String>> {
        let manifests = self.read_index()?;
        let mut tags: Vec<String> = manifests
            .iter()
            .filter_map(entry_ref_name)
            .filter_map(|name| {
                let (repo, tag) = split_ref_name(name);
                (repo == repository).then(|| tag.to_owned())
            })
            .collect();
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    fn delete_manifest_sync(&self, repository: &str, digest: &Digest) -> Result<()> {
        self.update_index(|manifests| {
            let before = manifests.len();
            manifests.retain(|m| {
                let same_digest = m.get("digest").and_then(Value::as_str) == Some(digest.as_str());
                let in_repository =
                    entry_ref_name(m).is_some_and(|name| split_ref_name(name).0 == repository);
                !(same_digest && in_repository)
            });
            if manifests.len() == before {
                return Err(self.not_found(
                    repository,
                    "manifest",
                    digest.as_str(),
                    "MANIFEST_UNKNOWN",
                ));
            }
            if !self.still_referenced(manifests, digest) {
                let path = self.blob_path(digest);
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(RegistryError::io("removing", &path, e)),
                }
            }
            Ok(())
        })
    }

    /// Whether an index entry, or a child of an index entry, still refers to `digest`.
    fn still_referenced(&self, manifests: &[Value], digest: &Digest) -> bool {
        manifests.iter().any(|m| {
            let Some(entry_digest) = m.get("digest").and_then(Value::as_str) else {
                return false;
            };
            if entry_digest == digest.as_str() {
                return true;
            }
            let media_type = m
                .get("mediaType")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !crate::protocol::is_index(media_type) {
                return false;
            }
            let Ok(parent) = Digest::parse(entry_digest) else {
                return false;
            };
            let Ok(bytes) = fs::read(self.blob_path(&parent)) else {
                return false;
            };
            manifest_links(entry_digest, media_type, &bytes)
                .is_ok_and(|links| links.manifests.iter().any(|(child, _)| child == digest))
        })
    }
}

fn entry_ref_name(entry: &Value) -> Option<&str> {
    entry
        .get("annotations")
        .and_then(|a| a.get(REF_NAME))
        .and_then(Value::as_str)
}

/// Runs filesystem work off the async executor.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| RegistryError::Setup {
            detail: format!("an oci-layout task failed: {e}"),
        })?
}

#[async_trait::async_trait]
impl Registry for OciLayout {
    fn name(&self) -> String {
        format!("oci-layout:{}", self.dir.display())
    }

    fn storage_key(&self) -> String {
        let canonical = fs::canonicalize(&self.dir).unwrap_or_else(|_| self.dir.clone());
        format!("oci-layout:{}", canonical.display())
    }

    async fn resolve(&self, repository: &str, tag: &str) -> Result<Digest> {
        let (layout, repository, tag) = (self.clone(), repository.to_owned(), tag.to_owned());
        blocking(move || match Reference::parse(&tag)? {
            Reference::Digest(digest) => layout
                .get_manifest_sync(&repository, &Reference::Digest(digest))
                .map(|m| m.digest),
            Reference::Tag(tag) => layout.resolve_sync(&repository, &tag).map(|(d, _)| d),
        })
        .await
    }

    async fn head_digest(
        &self,
        _repository: &str,
        digest: &Digest,
    ) -> Result<Option<ManifestInfo>> {
        let (layout, digest) = (self.clone(), digest.clone());
        blocking(move || layout.head_digest_sync(&digest)).await
    }

    async fn get_manifest(&self, repository: &str, reference: &Reference) -> Result<Manifest> {
        let (layout, repository, reference) =
            (self.clone(), repository.to_owned(), reference.clone());
        blocking(move || layout.get_manifest_sync(&repository, &reference)).await
    }

    async fn put_manifest(
        &self,
        repository: &str,
        reference: &Reference,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<Digest> {
        let layout = self.clone();
        let (repository, reference, media_type) = (
            repository.to_owned(),
            reference.clone(),
            media_type.to_owned(),
        );
        blocking(move || layout.put_manifest_sync(&repository, &reference, &media_type, &bytes))
            .await
    }

    async fn blob_exists(&self, _repository: &str, digest: &Digest) -> Result<bool> {
        Ok(self.blob_path(digest).exists())
    }

    async fn mount_blob(&self, repository: &str, digest: &Digest, _from: &str) -> Result<bool> {
        // One blob store serves every repository: "mounting" succeeds when the blob is here.
        self.blob_exists(repository, digest).await
    }

    async fn upload_blob(&self, _repository: &str, digest: &Digest, bytes: Bytes) -> Result<()> {
        let (layout, digest) = (self.clone(), digest.clone());
        blocking(move || layout.write_blob(&digest, &bytes)).await
    }

    async fn get_blob(&self, repository: &str, digest: &Digest) -> Result<Bytes> {
        let (layout, repository, digest) = (self.clone(), repository.to_owned(), digest.clone());
        blocking(move || layout.read_blob(&repository, &digest, "blob")).await
    }

    async fn list_tags(&self, repository: &str) -> Result<Vec<String>> {
        let (layout, repository) = (self.clone(), repository.to_owned());
        blocking(move || layout.list_tags_sync(&repository)).await
    }

    async fn delete_manifest(&self, repository: &str, digest: &Digest) -> Result<()> {
        let (layout, repository, digest) = (self.clone(), repository.to_owned(), digest.clone());
        blocking(move || layout.delete_manifest_sync(&repository, &digest)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{DOCKER_MANIFEST_LIST_V2, DOCKER_MANIFEST_V2, OCI_MANIFEST_V1};

    fn small_image(layout: &OciLayout) -> (Bytes, Digest) {
        let config =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let config_digest = Digest::sha256_of(config);
        layout.write_blob(&config_digest, config).unwrap();
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST_V1}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[]}}"#,
            config.len()
        );
        let digest = Digest::sha256_of(manifest.as_bytes());
        (Bytes::from(manifest), digest)
    }

    #[test]
    fn ref_names_round_trip() {
        assert_eq!(ref_name("", "v1"), "v1");
        assert_eq!(ref_name("team/app", "v1"), "team/app:v1");
        assert_eq!(split_ref_name("v1"), ("", "v1"));
        assert_eq!(split_ref_name("team/app:v1"), ("team/app", "v1"));
        assert_eq!(
            split_ref_name("docker.io/library/alpine:3.19"),
            ("docker.io/library/alpine", "3.19")
        );
    }

    #[tokio::test]
    async fn put_resolve_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let layout = OciLayout::open_or_create(dir.path().join("l")).unwrap();
        let (manifest, digest) = small_image(&layout);
        let tag = Reference::Tag("v1".into());
        let put = layout
            .put_manifest("app", &tag, OCI_MANIFEST_V1, manifest.clone())
            .await
            .unwrap();
        assert_eq!(put, digest);
        layout
            .put_manifest("", &tag, OCI_MANIFEST_V1, manifest.clone())
            .await
            .unwrap();
        assert_eq!(layout.resolve("app", "v1").await.unwrap(), digest);
        assert_eq!(layout.resolve("", "v1").await.unwrap(), digest);
        assert_eq!(layout.resolve("", digest.as_str()).await.unwrap(), digest);
        assert!(matches!(
            layout.resolve("other", "v1").await,
            Err(RegistryError::NotFound { .. })
        ));
        assert_eq!(layout.list_tags("app").await.unwrap(), vec!["v1"]);
        assert_eq!(layout.list_tags("").await.unwrap(), vec!["v1"]);
        let info = layout.head_digest("app", &digest).await.unwrap().unwrap();
        assert_eq!(info.media_type, OCI_MANIFEST_V1);
        assert_eq!(info.size, manifest.len() as u64);
        let fetched = layout.get_manifest("app", &tag).await.unwrap();
        assert_eq!(fetched.bytes, manifest);

        layout.delete_manifest("app", &digest).await.unwrap();
        assert!(layout.list_tags("app").await.unwrap().is_empty());
        // Still tagged in the unnamed repository, so the manifest blob stays.
        assert!(layout.head_digest("", &digest).await.unwrap().is_some());
        layout.delete_manifest("", &digest).await.unwrap();
        assert!(layout.head_digest("", &digest).await.unwrap().is_none());
        assert!(matches!(
            layout.delete_manifest("", &digest).await,
            Err(RegistryError::NotFound { .. })
        ));
        // The files a layout must have.
        let index: Value =
            serde_json::from_slice(&fs::read(dir.path().join("l/index.json")).unwrap()).unwrap();
        assert_eq!(index["schemaVersion"], 2);
        assert_eq!(
            fs::read_to_string(dir.path().join("l/oci-layout")).unwrap(),
            r#"{"imageLayoutVersion":"1.0.0"}"#
        );
    }

    #[tokio::test]
    async fn refuses_manifest_with_missing_blobs_and_bad_digests() {
        let dir = tempfile::tempdir().unwrap();
        let layout = OciLayout::open_or_create(dir.path()).unwrap();
        let missing = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST_V1}","config":{{"mediaType":"x","digest":"{}","size":1}},"layers":[]}}"#,
            Digest::sha256_of(b"nope")
        );
        let err = layout
            .put_manifest(
                "app",
                &Reference::Tag("t".into()),
                OCI_MANIFEST_V1,
                Bytes::from(missing),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, RegistryError::NotFound { what: "blob", .. }),
            "{err}"
        );
        let err = layout
            .upload_blob("app", &Digest::sha256_of(b"a"), Bytes::from_static(b"b"))
            .await
            .unwrap_err();
        assert!(matches!(err, RegistryError::DigestMismatch { .. }));
        // A blob corrupted on disk is detected on read.
        let digest = Digest::sha256_of(b"content");
        layout
            .upload_blob("app", &digest, Bytes::from_static(b"content"))
            .await
            .unwrap();
        fs::write(layout.blob_path(&digest), b"tampered").unwrap();
        assert!(matches!(
            layout.get_blob("app", &digest).await,
            Err(RegistryError::DigestMismatch { .. })
        ));
    }

    #[test]
    fn index_keeps_foreign_fields_and_entries() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("oci-layout"),
            r#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        fs::write(
            dir.path().join("index.json"),
            r#"{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1}],"annotations":{"k":"v"}}"#,
        )
        .unwrap();
        let layout = OciLayout::open(dir.path()).unwrap();
        layout.update_index(|_| Ok(())).unwrap();
        let index: Value =
            serde_json::from_slice(&fs::read(dir.path().join("index.json")).unwrap()).unwrap();
        assert_eq!(index["annotations"]["k"], "v");
        assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
        assert_eq!(index["mediaType"], OCI_INDEX_V1);
    }

    #[test]
    fn rejects_unknown_layout_version() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("oci-layout"),
            r#"{"imageLayoutVersion":"2.0.0"}"#,
        )
        .unwrap();
        assert!(matches!(
            OciLayout::open(dir.path()),
            Err(RegistryError::Layout { .. })
        ));
    }

    #[test]
    fn detects_media_types_without_a_field() {
        assert_eq!(
            detect_media_type(br#"{"schemaVersion":2,"config":{},"layers":[]}"#).as_deref(),
            Some(OCI_MANIFEST_V1)
        );
        assert_eq!(
            detect_media_type(br#"{"schemaVersion":2,"manifests":[]}"#).as_deref(),
            Some(OCI_INDEX_V1)
        );
        assert_eq!(
            detect_media_type(format!(r#"{{"mediaType":"{DOCKER_MANIFEST_V2}"}}"#).as_bytes())
                .as_deref(),
            Some(DOCKER_MANIFEST_V2)
        );
        assert_eq!(
            detect_media_type(format!(r#"{{"mediaType":"{DOCKER_MANIFEST_LIST_V2}"}}"#).as_bytes())
                .as_deref(),
            Some(DOCKER_MANIFEST_LIST_V2)
        );
        assert_eq!(detect_media_type(b"\x1f\x8b binary"), None);
    }
}
