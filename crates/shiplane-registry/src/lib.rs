//! Shiplane's registry adapter: OCI distribution v2 registries, `oci-layout:DIR` directories,
//! deterministic image packing, pushing and digest-preserving copies.
//!
//! This crate owns every byte Shiplane exchanges with an image store. Callers program against
//! the [`Registry`] trait, implemented by [`RegistryClient`] (HTTP) and [`OciLayout`] (a
//! directory); [`registry_from_ref`] picks one from a user's string. The pure parts —
//! reference parsing ([`mod@reference`]), protocol details ([`protocol`]), image packing
//! ([`pack_entries`]) — do no I/O and are tested exactly; the adapters sit around them.
//!
//! It must not know about services, lanes, releases or the artifact index: it moves and
//! describes images, and the domain decides which ones.

mod client;
mod credentials;
mod digest;
mod error;
mod inventory;
mod layout;
mod pack;
pub mod protocol;
pub mod reference;
mod registry;
mod transfer;

pub use client::{ClientOptions, RegistryClient};
pub use credentials::{CredentialSources, Credentials, Secret, env_host_key};
pub use digest::Digest;
pub use error::{RegistryError, Result};
pub use inventory::{DEFAULT_CONCURRENCY, TaggedManifest, created_at, retag, tagged_manifests};
pub use layout::{OciLayout, REF_NAME, ref_name, split_ref_name};
pub use pack::{
    PackOptions, PackedDigests, PackedImage, TreeEntry, TreeEntryKind, pack_dir, pack_entries,
    read_tree,
};
pub use protocol::RetryPolicy;
pub use reference::{ImageLocation, ImageReference, Reference};
pub use registry::{
    ConnectOptions, Manifest, ManifestInfo, ManifestLinks, OpenedLocation, Registry,
    manifest_links, registry_from_ref,
};
/// The network limits every request runs under (`ClientOptions::timeouts`).
pub use shiplane_http::{NETWORK_TIMEOUT_ENV, NetworkTimeouts};
pub use transfer::{RepoRef, TransferReport, copy_image, push_image};
