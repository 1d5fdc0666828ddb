//! The artifact index: for every service, the images built for each of its fingerprints.
//!
//! It is what lets `plan` reuse an image instead of rebuilding it (SPEC §3, §7). The index lives
//! in the GitOps repository as one file per service, `artifacts/<service>.json`, so CLI runs in
//! separate CI jobs share it with nothing but git, and concurrent publishes of different services
//! never touch the same file.
//!
//! This crate is pure: it turns a file's bytes and a new record into the new bytes. It knows
//! nothing of git, registries or clocks (the time of a record is given to it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of the file format.
pub const INDEX_VERSION: u32 = 1;

/// How many artifacts are kept per fingerprint (rebuilds of the same inputs); older ones drop off
/// the index (the registry's retention decides about the images themselves).
pub const KEEP_PER_FINGERPRINT: usize = 10;

/// The path of a service's index file in the GitOps repository.
#[must_use]
pub fn index_path(service: &str) -> String {
    format!("artifacts/{service}.json")
}

/// One image built for a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactRecord {
    /// Image repository, e.g. `registry.example.com/shop/api`.
    pub repository: String,
    /// The tag CI pushed.
    pub tag: String,
    /// The verified manifest digest, `sha256:…`.
    pub digest: String,
    /// Source commit the image was built from.
    pub source_commit: String,
    /// When it was recorded (RFC 3339, UTC).
    pub time: String,
    /// The CI run that built it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<String>,
}

impl ArtifactRecord {
    /// Whether two records name the same image (time and provenance aside).
    #[must_use]
    pub fn same_image(&self, other: &ArtifactRecord) -> bool {
        self.repository == other.repository && self.tag == other.tag && self.digest == other.digest
    }
}

/// A service's index file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceIndex {
    /// File format version.
    pub index_version: u32,
    /// The service.
    pub service: String,
    /// Fingerprint (hex) → artifacts built for it, oldest first.
    pub fingerprints: BTreeMap<String, Vec<ArtifactRecord>>,
}

/// The index file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Not valid JSON, or not the index format.
    #[error("artifact index {path} is not a valid index file: {source}")]
    Invalid {
        /// The file.
        path: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// Written by a newer Shiplane.
    #[error(
        "artifact index {path} has format version {found}; this Shiplane reads version {INDEX_VERSION}"
    )]
    Version {
        /// The file.
        path: String,
        /// Its version.
        found: u32,
    },
}

impl ServiceIndex {
    /// An empty index for `service`.
    #[must_use]
    pub fn new(service: &str) -> Self {
        ServiceIndex {
            index_version: INDEX_VERSION,
            service: service.to_owned(),
            fingerprints: BTreeMap::new(),
        }
    }

    /// Parses a file; `None` bytes (no file yet) give an empty index.
    pub fn parse(service: &str, bytes: Option<&[u8]>) -> Result<Self, IndexError> {
        let Some(bytes) = bytes else {
            return Ok(ServiceIndex::new(service));
        };
        let path = index_path(service);
        let index: ServiceIndex =
            serde_json::from_slice(bytes).map_err(|source| IndexError::Invalid {
                path: path.clone(),
                source,
            })?;
        if index.index_version != INDEX_VERSION {
            return Err(IndexError::Version {
                path,
                found: index.index_version,
            });
        }
        Ok(index)
    }

    /// The canonical bytes of the file (pretty JSON with a trailing newline; same index, same
    /// bytes).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Records `record` as the newest artifact of `fingerprint`. Returns false when it already
    /// is the newest (the same image recorded twice changes nothing, so re-running CI makes no
    /// commit). A rebuild with a new digest becomes the newest; it never fails.
    pub fn record(&mut self, fingerprint: &str, record: ArtifactRecord) -> bool {
        let list = self.fingerprints.entry(fingerprint.to_owned()).or_default();
        if list.last().is_some_and(|last| last.same_image(&record)) {
            return false;
        }
        list.retain(|r| !r.same_image(&record));
        list.push(record);
        if list.len() > KEEP_PER_FINGERPRINT {
            let excess = list.len() - KEEP_PER_FINGERPRINT;
            list.drain(..excess);
        }
        true
    }

    /// The newest artifact for `fingerprint`.
    #[must_use]
    pub fn newest(&self, fingerprint: &str) -> Option<&ArtifactRecord> {
        self.fingerprints.get(fingerprint).and_then(|l| l.last())
    }

    /// Every digest the index references, for registry retention.
    pub fn digests(&self) -> impl Iterator<Item = &ArtifactRecord> {
        self.fingerprints.values().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(digest: &str, time: &str) -> ArtifactRecord {
        ArtifactRecord {
            repository: "reg/x/api".into(),
            tag: "sha-1".into(),
            digest: digest.into(),
            source_commit: "c".repeat(40),
            time: time.into(),
            provenance: None,
        }
    }

    #[test]
    fn the_same_image_twice_changes_nothing() {
        let mut idx = ServiceIndex::new("api");
        assert!(idx.record("fp", rec("sha256:a", "t1")));
        let before = idx.to_bytes();
        assert!(!idx.record("fp", rec("sha256:a", "t2")));
        assert_eq!(idx.to_bytes(), before);
    }

    #[test]
    fn a_rebuild_becomes_the_newest() {
        let mut idx = ServiceIndex::new("api");
        idx.record("fp", rec("sha256:a", "t1"));
        idx.record("fp", rec("sha256:b", "t2"));
        assert_eq!(idx.newest("fp").unwrap().digest, "sha256:b");
        // Going back to an earlier digest moves it to the end instead of duplicating it.
        idx.record("fp", rec("sha256:a", "t3"));
        assert_eq!(idx.fingerprints["fp"].len(), 2);
        assert_eq!(idx.newest("fp").unwrap().digest, "sha256:a");
    }

    #[test]
    fn history_is_bounded() {
        let mut idx = ServiceIndex::new("api");
        for i in 0..25 {
            idx.record("fp", rec(&format!("sha256:{i}"), "t"));
        }
        assert_eq!(idx.fingerprints["fp"].len(), KEEP_PER_FINGERPRINT);
        assert_eq!(idx.newest("fp").unwrap().digest, "sha256:24");
    }

    #[test]
    fn bytes_round_trip_and_are_deterministic() {
        let mut a = ServiceIndex::new("api");
        a.record("fp2", rec("sha256:b", "t"));
        a.record("fp1", rec("sha256:a", "t"));
        let bytes = a.to_bytes();
        let b = ServiceIndex::parse("api", Some(&bytes)).unwrap();
        assert_eq!(a, b);
        assert_eq!(b.to_bytes(), bytes);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.find("fp1").unwrap() < text.find("fp2").unwrap());
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let err = ServiceIndex::parse("api", Some(b"{nope")).unwrap_err();
        assert!(err.to_string().contains("artifacts/api.json"));
        let err = ServiceIndex::parse(
            "api",
            Some(br#"{"index_version":9,"service":"api","fingerprints":{}}"#),
        )
        .unwrap_err();
        assert!(err.to_string().contains("version 9"));
    }
}
