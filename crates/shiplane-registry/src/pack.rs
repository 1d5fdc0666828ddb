//! Packing a directory into a single-layer OCI image, deterministically.
//!
//! This module owns the image format Shiplane produces itself: a reproducible tar of a
//! directory tree, gzip with a fixed header, an OCI config and an OCI manifest. The core,
//! [`pack_entries`], is pure: the same [`TreeEntry`] list and [`PackOptions`] always give the
//! same bytes and so the same digests. [`read_tree`] is the adapter that reads a directory into
//! that list; [`pack_dir`] combines both. It must not know about registries (see
//! [`crate::push_image`]).
//!
//! What makes the output reproducible: entries sorted by path; mtime 0, uid/gid 0 and empty
//! owner names on every entry; the mode kept from the file's permission bits (so executables
//! stay executable) and nothing else from its metadata; symlinks kept as symlinks; gzip with
//! mtime 0, no file name and a fixed OS byte; no `created` timestamp in the config. The digest
//! is stable for a given Shiplane build; a different version of the deflate implementation
//! could compress differently, which is why the config records the uncompressed `diff_id`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use flate2::{Compression, GzBuilder};
use serde::Serialize;

use crate::digest::Digest;
use crate::error::{RegistryError, Result};
use crate::protocol::{OCI_CONFIG_V1, OCI_LAYER_TAR_GZIP, OCI_MANIFEST_V1};

/// What goes into the image besides the files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackOptions {
    /// The container's entrypoint (`config.Entrypoint`).
    pub entrypoint: Option<Vec<String>>,
    /// The working directory (`config.WorkingDir`).
    pub workdir: Option<String>,
    /// Environment variables (`config.Env`, as sorted `KEY=value`).
    pub env: BTreeMap<String, String>,
    /// Labels (`config.Labels`).
    pub labels: BTreeMap<String, String>,
}

/// One entry of a directory tree, with a `/`-separated path relative to the tree's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// The path inside the image, relative, `/`-separated, without `.` or `..`.
    pub path: String,
    /// Permission bits (`0o7777` mask).
    pub mode: u32,
    /// What the entry is.
    pub kind: TreeEntryKind,
}

/// The kinds of entries an image layer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeEntryKind {
    /// A directory.
    Directory,
    /// A regular file with its contents.
    File(Vec<u8>),
    /// A symbolic link to `target` (kept as written, relative or absolute).
    Symlink(String),
}

/// A packed image: the three blobs and their digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedImage {
    /// The OCI image config JSON.
    pub config_bytes: Bytes,
    /// The gzip-compressed layer tar.
    pub layer_bytes: Bytes,
    /// The OCI image manifest JSON.
    pub manifest_bytes: Bytes,
    /// The digests of the blobs.
    pub digests: PackedDigests,
}

/// The digests of a [`PackedImage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedDigests {
    /// The manifest's digest: the image's identity.
    pub manifest: Digest,
    /// The config blob's digest.
    pub config: Digest,
    /// The compressed layer's digest.
    pub layer: Digest,
    /// The uncompressed layer's digest (`rootfs.diff_ids[0]`).
    pub diff_id: Digest,
}

impl PackedImage {
    /// The manifest's media type.
    pub fn media_type(&self) -> &'static str {
        OCI_MANIFEST_V1
    }
}

#[derive(Serialize)]
struct ImageConfig<'a> {
    architecture: &'static str,
    os: &'static str,
    config: RuntimeConfig<'a>,
    rootfs: RootFs,
}

#[derive(Serialize)]
struct RuntimeConfig<'a> {
    #[serde(rename = "Entrypoint", skip_serializing_if = "Option::is_none")]
    entrypoint: Option<&'a [String]>,
    #[serde(rename = "Env", skip_serializing_if = "Vec::is_empty")]
    env: Vec<String>,
    #[serde(rename = "WorkingDir", skip_serializing_if = "Option::is_none")]
    working_dir: Option<&'a str>,
    #[serde(rename = "Labels", skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct RootFs {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<String>,
}

#[derive(Serialize)]
struct ImageManifest<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    config: Descriptor<'a>,
    layers: Vec<Descriptor<'a>>,
}

#[derive(Serialize)]
struct Descriptor<'a> {
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    digest: &'a str,
    size: usize,
}

/// Packs a directory into a single-layer image (reads it with [`read_tree`]).
pub fn pack_dir(dir: &Path, options: &PackOptions) -> Result<PackedImage> {
    pack_entries(read_tree(dir)?, options)
}

/// Packs tree entries into a single-layer image. Pure and deterministic: entries are sorted
/// here, so their order does not matter.
pub fn pack_entries(mut entries: Vec<TreeEntry>, options: &PackOptions) -> Result<PackedImage> {
    for key in options.env.keys() {
        if key.is_empty() || key.contains('=') {
            return Err(RegistryError::Pack {
                path: PathBuf::from("<options>"),
                detail: format!("`{key}` is not a valid environment variable name"),
            });
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(pair) = entries.windows(2).find(|pair| pair[0].path == pair[1].path) {
        return Err(RegistryError::Pack {
            path: PathBuf::from(&pair[0].path),
            detail: "the path appears twice".to_owned(),
        });
    }
    let tar = build_tar(&entries)?;
    let diff_id = Digest::sha256_of(&tar);
    let layer = gzip(&tar).map_err(|e| RegistryError::Pack {
        path: PathBuf::from("<layer>"),
        detail: format!("gzip failed: {e}"),
    })?;
    let layer_digest = Digest::sha256_of(&layer);

    let config = ImageConfig {
        architecture: "amd64",
        os: "linux",
        config: RuntimeConfig {
            entrypoint: options.entrypoint.as_deref(),
            env: options
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            working_dir: options.workdir.as_deref(),
            labels: &options.labels,
        },
        rootfs: RootFs {
            kind: "layers",
            diff_ids: vec![diff_id.to_string()],
        },
    };
    let config_bytes = to_json(&config)?;
    let config_digest = Digest::sha256_of(&config_bytes);
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: OCI_MANIFEST_V1,
        config: Descriptor {
            media_type: OCI_CONFIG_V1,
            digest: config_digest.as_str(),
            size: config_bytes.len(),
        },
        layers: vec![Descriptor {
            media_type: OCI_LAYER_TAR_GZIP,
            digest: layer_digest.as_str(),
            size: layer.len(),
        }],
    };
    let manifest_bytes = to_json(&manifest)?;
    let manifest_digest = Digest::sha256_of(&manifest_bytes);
    Ok(PackedImage {
        config_bytes: Bytes::from(config_bytes),
        layer_bytes: Bytes::from(layer),
        manifest_bytes: Bytes::from(manifest_bytes),
        digests: PackedDigests {
            manifest: manifest_digest,
            config: config_digest,
            layer: layer_digest,
            diff_id,
        },
    })
}

fn to_json(value: &impl Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| RegistryError::Pack {
        path: PathBuf::from("<config>"),
        detail: format!("cannot serialise: {e}"),
    })
}

fn build_tar(entries: &[TreeEntry]) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let failed = |e: std::io::Error| RegistryError::Pack {
            path: PathBuf::from(&entry.path),
            detail: e.to_string(),
        };
        validate_entry_path(&entry.path)?;
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_username("").map_err(failed)?;
        header.set_groupname("").map_err(failed)?;
        header.set_mode(entry.mode & 0o7777);
        match &entry.kind {
            TreeEntryKind::Directory => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder
                    .append_data(&mut header, &entry.path, std::io::empty())
                    .map_err(failed)?;
            }
            TreeEntryKind::File(contents) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(contents.len() as u64);
                builder
                    .append_data(&mut header, &entry.path, contents.as_slice())
                    .map_err(failed)?;
            }
            TreeEntryKind::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder
                    .append_link(&mut header, &entry.path, target)
                    .map_err(failed)?;
            }
        }
    }
    builder.into_inner().map_err(|e| RegistryError::Pack {
        path: PathBuf::from("<layer>"),
        detail: e.to_string(),
    })
}

fn validate_entry_path(path: &str) -> Result<()> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        return Err(RegistryError::Pack {
            path: PathBuf::from(path),
            detail: "entry paths must be relative, without empty, `.` or `..` parts".to_owned(),
        });
    }
    Ok(())
}

fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    // mtime 0, no file name, OS byte 255 ("unknown"): nothing about this machine or moment.
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::with_capacity(data.len() / 2), Compression::default());
    encoder.write_all(data)?;
    encoder.finish()
}

/// Reads a directory tree into entries: directories, regular files (with contents) and
/// symlinks, with their permission bits. Other file types (sockets, devices, FIFOs) and
/// non-UTF-8 names are refused.
pub fn read_tree(root: &Path) -> Result<Vec<TreeEntry>> {
    let meta = fs::metadata(root).map_err(|e| RegistryError::io("reading", root, e))?;
    if !meta.is_dir() {
        return Err(RegistryError::Pack {
            path: root.to_owned(),
            detail: "not a directory".to_owned(),
        });
    }
    let mut entries = Vec::new();
    let mut pending = vec![(root.to_owned(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let listing = fs::read_dir(&dir).map_err(|e| RegistryError::io("listing", &dir, e))?;
        for item in listing {
            let item = item.map_err(|e| RegistryError::io("listing", &dir, e))?;
            let path = item.path();
            let Some(name) = item.file_name().to_str().map(str::to_owned) else {
                return Err(RegistryError::Pack {
                    path,
                    detail: "file name is not UTF-8".to_owned(),
                });
            };
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let meta =
                fs::symlink_metadata(&path).map_err(|e| RegistryError::io("reading", &path, e))?;
            let mode = permission_bits(&meta);
            let kind = if meta.file_type().is_symlink() {
                let target =
                    fs::read_link(&path).map_err(|e| RegistryError::io("reading", &path, e))?;
                let Some(target) = target.to_str() else {
                    return Err(RegistryError::Pack {
                        path,
                        detail: "symlink target is not UTF-8".to_owned(),
                    });
                };
                TreeEntryKind::Symlink(target.to_owned())
            } else if meta.is_dir() {
                pending.push((path.clone(), relative.clone()));
                TreeEntryKind::Directory
            } else if meta.is_file() {
                TreeEntryKind::File(
                    fs::read(&path).map_err(|e| RegistryError::io("reading", &path, e))?,
                )
            } else {
                return Err(RegistryError::Pack {
                    path,
                    detail: "only directories, regular files and symlinks can be packed".to_owned(),
                });
            };
            entries.push(TreeEntry {
                path: relative,
                mode,
                kind,
            });
        }
    }
    Ok(entries)
}

#[cfg(unix)]
fn permission_bits(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn permission_bits(meta: &fs::Metadata) -> u32 {
    if meta.is_dir() { 0o755 } else { 0o644 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, mode: u32, contents: &str) -> TreeEntry {
        TreeEntry {
            path: path.into(),
            mode,
            kind: TreeEntryKind::File(contents.as_bytes().to_vec()),
        }
    }

    fn dir(path: &str) -> TreeEntry {
        TreeEntry {
            path: path.into(),
            mode: 0o755,
            kind: TreeEntryKind::Directory,
        }
    }

    #[test]
    fn order_of_entries_does_not_matter() {
        let entries = vec![
            dir("bin"),
            file("bin/run", 0o755, "#!/bin/sh\n"),
            file("a.txt", 0o644, "a"),
        ];
        let mut reversed = entries.clone();
        reversed.reverse();
        let a = pack_entries(entries, &PackOptions::default()).unwrap();
        let b = pack_entries(reversed, &PackOptions::default()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn mode_and_options_change_the_digest() {
        let base = pack_entries(vec![file("run", 0o644, "x")], &PackOptions::default()).unwrap();
        let exec = pack_entries(vec![file("run", 0o755, "x")], &PackOptions::default()).unwrap();
        assert_ne!(base.digests.manifest, exec.digests.manifest);
        let options = PackOptions {
            entrypoint: Some(vec!["/run".into()]),
            ..PackOptions::default()
        };
        let with_entrypoint = pack_entries(vec![file("run", 0o644, "x")], &options).unwrap();
        assert_eq!(base.digests.layer, with_entrypoint.digests.layer);
        assert_ne!(base.digests.config, with_entrypoint.digests.config);
    }

    #[test]
    fn tar_headers_are_normalised_and_gzip_header_fixed() {
        let entries = vec![
            dir("d"),
            file("d/f", 0o4755, "data"),
            TreeEntry {
                path: "link".into(),
                mode: 0o777,
                kind: TreeEntryKind::Symlink("d/f".into()),
            },
            file(&format!("{}/long", "x".repeat(120)), 0o600, "long name"),
        ];
        let packed = pack_entries(entries, &PackOptions::default()).unwrap();
        // gzip: magic, deflate, no flags (no name), mtime 0, OS 255.
        assert_eq!(
            &packed.layer_bytes[..10],
            &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255][..]
        );
        let tar = {
            let mut out = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(&packed.layer_bytes[..]),
                &mut out,
            )
            .unwrap();
            out
        };
        assert_eq!(Digest::sha256_of(&tar), packed.digests.diff_id);
        let mut archive = tar::Archive::new(&tar[..]);
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            assert_eq!(header.mtime().unwrap(), 0);
            assert_eq!(header.uid().unwrap(), 0);
            assert_eq!(header.gid().unwrap(), 0);
            assert_eq!(header.username().unwrap(), Some(""));
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            if path == "d/f" {
                assert_eq!(header.mode().unwrap(), 0o4755);
            }
            if path == "link" {
                assert_eq!(entry.link_name().unwrap().unwrap().to_string_lossy(), "d/f");
            }
            seen.push(path);
        }
        assert_eq!(seen[0].trim_end_matches('/'), "d");
        assert!(seen.iter().any(|p| p.ends_with("/long")));
    }

    #[test]
    fn config_and_manifest_shape() {
        let options = PackOptions {
            entrypoint: Some(vec!["/app/run".into(), "--serve".into()]),
            workdir: Some("/app".into()),
            env: BTreeMap::from([("B".into(), "2".into()), ("A".into(), "1".into())]),
            labels: BTreeMap::from([("org.opencontainers.image.source".into(), "x".into())]),
        };
        let packed = pack_entries(vec![file("f", 0o644, "x")], &options).unwrap();
        let config: serde_json::Value = serde_json::from_slice(&packed.config_bytes).unwrap();
        assert_eq!(config["architecture"], "amd64");
        assert_eq!(config["os"], "linux");
        assert_eq!(config["config"]["Entrypoint"][1], "--serve");
        assert_eq!(config["config"]["WorkingDir"], "/app");
        assert_eq!(config["config"]["Env"], serde_json::json!(["A=1", "B=2"]));
        assert_eq!(
            config["rootfs"]["diff_ids"][0],
            packed.digests.diff_id.as_str()
        );
        assert!(config.get("created").is_none());
        let manifest: serde_json::Value = serde_json::from_slice(&packed.manifest_bytes).unwrap();
        assert_eq!(manifest["mediaType"], OCI_MANIFEST_V1);
        assert_eq!(manifest["config"]["digest"], packed.digests.config.as_str());
        assert_eq!(
            manifest["layers"][0]["digest"],
            packed.digests.layer.as_str()
        );
        assert_eq!(manifest["layers"][0]["size"], packed.layer_bytes.len());
        assert_eq!(
            Digest::sha256_of(&packed.manifest_bytes),
            packed.digests.manifest
        );
    }

    #[test]
    fn bad_input_is_refused() {
        for path in ["", "/abs", "a/../b", "a//b", "./a"] {
            assert!(
                pack_entries(vec![file(path, 0o644, "")], &PackOptions::default()).is_err(),
                "{path}"
            );
        }
        assert!(
            pack_entries(
                vec![file("a", 0o644, ""), file("a", 0o644, "")],
                &PackOptions::default()
            )
            .is_err()
        );
        let options = PackOptions {
            env: BTreeMap::from([("A=B".into(), "1".into())]),
            ..PackOptions::default()
        };
        assert!(pack_entries(vec![], &options).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn same_directory_same_digest_across_copies_with_other_mtimes() {
        use std::os::unix::fs::PermissionsExt as _;
        let make = |root: &Path| {
            fs::create_dir_all(root.join("bin")).unwrap();
            fs::create_dir_all(root.join("empty")).unwrap();
            fs::write(root.join("bin/run"), "#!/bin/sh\necho hi\n").unwrap();
            fs::set_permissions(root.join("bin/run"), fs::Permissions::from_mode(0o755)).unwrap();
            fs::write(root.join("README"), "hello").unwrap();
            fs::set_permissions(root.join("README"), fs::Permissions::from_mode(0o644)).unwrap();
            std::os::unix::fs::symlink("bin/run", root.join("start")).unwrap();
        };
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        make(&a);
        let first = pack_dir(&a, &PackOptions::default()).unwrap();
        // Different mtimes: wait past the filesystem's timestamp granularity, then rebuild.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = tmp.path().join("b");
        make(&b);
        fs::File::options()
            .write(true)
            .open(b.join("README"))
            .unwrap()
            .set_modified(
                std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000),
            )
            .unwrap();
        let second = pack_dir(&b, &PackOptions::default()).unwrap();
        assert_eq!(first.digests, second.digests);
        assert_eq!(first.layer_bytes, second.layer_bytes);
        // And the content matters.
        fs::write(b.join("README"), "changed").unwrap();
        let third = pack_dir(&b, &PackOptions::default()).unwrap();
        assert_ne!(first.digests.manifest, third.digests.manifest);
    }
}
