//! Fingerprints: the content hash of a service's inputs at one commit.
//!
//! This module owns the exact byte format that is hashed, which is a compatibility contract:
//! artifacts are indexed by fingerprint, so changing the format makes every artifact unreusable.
//! It must not know how a listing was obtained or what an artifact is.
//!
//! Format, version 1 (`shiplane-fingerprint-v1`):
//!
//! * each input group (shared inputs, a library, a service's own paths) has a digest:
//!   `sha256("shiplane-group-v1\0" ‖ record…)`, one record per member file in path order,
//!   `path ‖ 0x00 ‖ mode as 6 ASCII octal digits ‖ 20 raw object-id bytes`, ignore applied;
//! * a service's fingerprint is `sha256` of the text
//!   `shiplane-fingerprint-v1\nintent <intent_hash>\nshared <hex>\nown <hex>\n`, then
//!   `library <name> <hex>\n` for each library and `dependency <name> <hex>\n` for each dependency
//!   service (its own paths), both sorted by name.
//!
//! Hashing per group and then combining is a Merkle tree over the same (path, blob, mode)
//! records: it depends only on content and names, never on order or checkout state, and a group
//! shared by 1,000 services is hashed once instead of 1,000 times.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::listing::TreeListing;
use crate::matcher::{CompiledService, CompiledSpec, SHARED};

/// A service's content hash (SHA-256).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 12 hex digits, for tags and tables.
    pub fn short(&self) -> String {
        let mut s = self.to_hex();
        s.truncate(12);
        s
    }

    /// Parses 64 hex digits.
    pub fn from_hex(hex: &str) -> Option<Fingerprint> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex, &mut bytes).ok()?;
        Some(Fingerprint(bytes))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The digest and file count of every input group of one listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDigests {
    digests: Vec<[u8; 32]>,
    counts: Vec<usize>,
}

impl GroupDigests {
    /// Hashes every group of `spec` over `listing`.
    pub fn compute(spec: &CompiledSpec, listing: &TreeListing) -> GroupDigests {
        let members = spec.members(listing);
        let mut record = Vec::with_capacity(4096);
        let digests = members
            .iter()
            .map(|list| {
                let mut h = Sha256::new();
                h.update(b"shiplane-group-v1\0");
                record.clear();
                for &i in list {
                    let e = listing.get(i as usize);
                    record.extend_from_slice(e.path.as_bytes());
                    record.push(0);
                    record.extend_from_slice(e.mode.as_octal().as_bytes());
                    record.extend_from_slice(&e.oid.0);
                    if record.len() >= 4096 {
                        h.update(&record);
                        record.clear();
                    }
                }
                h.update(&record);
                h.finalize().into()
            })
            .collect();
        let counts = members.iter().map(Vec::len).collect();
        GroupDigests { digests, counts }
    }

    /// Digest of group `index`.
    pub fn digest(&self, index: usize) -> [u8; 32] {
        self.digests[index]
    }

    /// Number of files in group `index`.
    pub fn count(&self, index: usize) -> usize {
        self.counts[index]
    }

    pub(crate) fn fingerprint(
        &self,
        spec: &CompiledSpec,
        service: &CompiledService,
    ) -> Fingerprint {
        use std::fmt::Write as _;
        let mut text = String::with_capacity(256);
        text.push_str("shiplane-fingerprint-v1\n");
        let _ = writeln!(text, "intent {}", service.intent_hash);
        let _ = writeln!(text, "shared {}", hex::encode(self.digests[SHARED]));
        let _ = writeln!(text, "own {}", hex::encode(self.digests[service.own]));
        for &g in &service.libraries {
            let name = group_name(spec, g);
            let _ = writeln!(text, "library {name} {}", hex::encode(self.digests[g]));
        }
        for &g in &service.dependencies {
            let name = group_name(spec, g);
            let _ = writeln!(text, "dependency {name} {}", hex::encode(self.digests[g]));
        }
        Fingerprint(Sha256::digest(text.as_bytes()).into())
    }
}

pub(crate) fn group_name(spec: &CompiledSpec, group: usize) -> &str {
    match spec.group_kind(group) {
        crate::matcher::GroupKind::Shared => "shared",
        crate::matcher::GroupKind::Library(n) | crate::matcher::GroupKind::Service(n) => n,
    }
}

/// Fingerprints of every service of `spec` at `listing`, in service-name order.
pub fn fingerprints(spec: &CompiledSpec, listing: &TreeListing) -> Vec<(String, Fingerprint)> {
    let digests = GroupDigests::compute(spec, listing);
    spec.services()
        .iter()
        .map(|s| (s.name.clone(), digests.fingerprint(spec, s)))
        .collect()
}
