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
    /// The digests in lowercase hex, as the fingerprint text spells them: encoded once per
    /// group rather than once per service that uses the group.
    hex: Vec<[u8; 64]>,
    counts: Vec<usize>,
}

/// Below this many member files in all, hashing stays on the calling thread: a thread costs
/// more than it saves.
const PARALLEL_MIN_FILES: usize = 20_000;

impl GroupDigests {
    /// Hashes every group of `spec` over `listing`.
    ///
    /// Groups are independent, so on a large listing they are hashed on up to
    /// [`std::thread::available_parallelism`] threads, each taking a contiguous run of groups
    /// with about the same number of files. The result does not depend on the split.
    pub fn compute(spec: &CompiledSpec, listing: &TreeListing) -> GroupDigests {
        GroupDigests::compute_on(spec, listing, None)
    }

    /// [`Self::compute`] on exactly `threads` threads when given (for tests).
    fn compute_on(
        spec: &CompiledSpec,
        listing: &TreeListing,
        threads: Option<usize>,
    ) -> GroupDigests {
        let members = spec.members(listing);
        let counts: Vec<usize> = members.iter().map(Vec::len).collect();
        let total: usize = counts.iter().sum();
        let threads = threads.unwrap_or_else(|| {
            if total < PARALLEL_MIN_FILES {
                1
            } else {
                std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
            }
        });
        let mut digests = vec![[0u8; 32]; members.len()];
        if threads <= 1 {
            hash_groups(listing, &members, &mut digests);
        } else {
            // Cut the group list where the running file count crosses each share.
            let share = total.div_ceil(threads);
            let mut cuts = vec![0];
            let mut running = 0;
            for (g, &c) in counts.iter().enumerate() {
                running += c;
                if running >= share * cuts.len() && cuts.len() < threads {
                    cuts.push(g + 1);
                }
            }
            cuts.push(members.len());
            cuts.dedup();
            std::thread::scope(|scope| {
                let mut rest: &mut [[u8; 32]] = &mut digests;
                let mut first = None;
                for w in cuts.windows(2) {
                    let (out, tail) = rest.split_at_mut(w[1] - w[0]);
                    rest = tail;
                    let groups = &members[w[0]..w[1]];
                    if first.is_none() {
                        first = Some((groups, out));
                    } else {
                        scope.spawn(move || hash_groups(listing, groups, out));
                    }
                }
                if let Some((groups, out)) = first {
                    hash_groups(listing, groups, out);
                }
            });
        }
        let hex = digests
            .iter()
            .map(|d| {
                let mut h = [0u8; 64];
                // Cannot fail: the output is exactly twice the input's length.
                let _ = hex::encode_to_slice(d, &mut h);
                h
            })
            .collect();
        GroupDigests {
            digests,
            hex,
            counts,
        }
    }

    /// Digest of group `index`.
    pub fn digest(&self, index: usize) -> [u8; 32] {
        self.digests[index]
    }

    /// Number of files in group `index`.
    pub fn count(&self, index: usize) -> usize {
        self.counts[index]
    }

    /// The fingerprint text of the module documentation, fed to the hash piece by piece
    /// instead of being formatted into a string first.
    pub(crate) fn fingerprint(
        &self,
        spec: &CompiledSpec,
        service: &CompiledService,
    ) -> Fingerprint {
        let mut h = Sha256::new();
        h.update(b"shiplane-fingerprint-v1\nintent ");
        h.update(service.intent_hash.as_bytes());
        h.update(b"\nshared ");
        h.update(self.hex[SHARED]);
        h.update(b"\nown ");
        h.update(self.hex[service.own]);
        h.update(b"\n");
        for (word, groups) in [
            (&b"library "[..], &service.libraries),
            (&b"dependency "[..], &service.dependencies),
        ] {
            for &g in groups {
                h.update(word);
                h.update(group_name(spec, g).as_bytes());
                h.update(b" ");
                h.update(self.hex[g]);
                h.update(b"\n");
            }
        }
        Fingerprint(h.finalize().into())
    }
}

/// Hashes each group of `members` into the matching slot of `out`.
fn hash_groups(listing: &TreeListing, members: &[Vec<u32>], out: &mut [[u8; 32]]) {
    let mut record = Vec::with_capacity(8192);
    for (list, digest) in members.iter().zip(out) {
        let mut h = Sha256::new();
        h.update(b"shiplane-group-v1\0");
        record.clear();
        for &i in list {
            let e = listing.get(i as usize);
            record.extend_from_slice(e.path.as_bytes());
            record.push(0);
            record.extend_from_slice(e.mode.as_octal().as_bytes());
            record.extend_from_slice(&e.oid.0);
            if record.len() >= 8192 - 128 {
                h.update(&record);
                record.clear();
            }
        }
        h.update(&record);
        *digest = h.finalize().into();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::{EntryMode, Oid};
    use crate::spec::{PlanSpec, ServiceSpec};

    #[test]
    fn parallel_hashing_equals_sequential() {
        let paths: Vec<String> = (0..3000)
            .map(|i| {
                format!(
                    "p/g{:02}/f{i:05}{}",
                    i % 37,
                    if i % 5 == 0 { ".md" } else { "" }
                )
            })
            .collect();
        let listing: TreeListing = paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (
                    p.as_str(),
                    Oid([u8::try_from(i % 251).unwrap(); 20]),
                    EntryMode::File,
                )
            })
            .collect();
        let spec = PlanSpec {
            shared: vec!["p/g00/**".to_owned()],
            ignore: vec!["**/*.md".to_owned()],
            libraries: (1..20)
                .map(|g| (format!("l{g}"), vec![format!("p/g{g:02}/**")]))
                .collect(),
            services: (20..37)
                .map(|g| {
                    let service = ServiceSpec {
                        paths: vec![format!("p/g{g:02}")],
                        libraries: vec![format!("l{}", g - 19)],
                        ..ServiceSpec::default()
                    };
                    (format!("s{g}"), service)
                })
                .collect(),
        };
        let compiled = CompiledSpec::new(&spec).unwrap();
        let one = GroupDigests::compute_on(&compiled, &listing, Some(1));
        for threads in 2..=5 {
            assert_eq!(
                GroupDigests::compute_on(&compiled, &listing, Some(threads)),
                one,
                "{threads} threads"
            );
        }
        assert_eq!(GroupDigests::compute(&compiled, &listing), one);
    }
}
