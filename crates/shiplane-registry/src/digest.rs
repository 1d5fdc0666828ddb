//! Content digests (`sha256:<64 hex>`).
//!
//! This module owns the one digest type and the only place content is hashed. It must not know
//! where content comes from. Only `sha256` is supported: it is what every registry and the OCI
//! image layout use by default, and refusing other algorithms keeps verification total.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

use crate::error::{RegistryError, Result};

/// A validated `sha256:` content digest.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

impl Digest {
    /// The digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Self {
        Self(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }

    /// Parses `sha256:<64 lowercase hex>`.
    pub fn parse(text: &str) -> Result<Self> {
        let Some((algorithm, encoded)) = text.split_once(':') else {
            return Err(RegistryError::invalid_reference(
                text,
                "a digest looks like sha256:<64 hex digits>",
            ));
        };
        if algorithm != "sha256" {
            return Err(RegistryError::invalid_reference(
                text,
                format!("unsupported digest algorithm `{algorithm}` (only sha256)"),
            ));
        }
        if encoded.len() != 64
            || !encoded
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(RegistryError::invalid_reference(
                text,
                "a sha256 digest has exactly 64 lowercase hex digits",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The full digest, `sha256:…`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex part, used as the blob's file name in an oci-layout.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// Checks that `bytes` hash to this digest.
    pub fn verify(&self, bytes: &[u8], what: &str) -> Result<()> {
        let actual = Self::sha256_of(bytes);
        if &actual == self {
            Ok(())
        } else {
            Err(RegistryError::DigestMismatch {
                what: what.to_owned(),
                expected: self.0.clone(),
                actual: actual.0,
            })
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.0)
    }
}

impl FromStr for Digest {
    type Err = RegistryError;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_input_is_the_well_known_value() {
        assert_eq!(
            Digest::sha256_of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn parse_accepts_only_sha256_lowercase() {
        let good = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(Digest::parse(good).unwrap().hex().len(), 64);
        for bad in [
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha256:abc",
            "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn verify_reports_both_digests() {
        let d = Digest::sha256_of(b"a");
        assert!(d.verify(b"a", "blob").is_ok());
        let err = d.verify(b"b", "blob").unwrap_err();
        assert!(matches!(err, RegistryError::DigestMismatch { .. }));
    }
}
