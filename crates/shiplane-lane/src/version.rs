//! Release versions of versioned lanes: `MAJOR.MINOR.PATCH`, bumped by the lane's `version`.
//!
//! Pre-release and build suffixes are refused: a lane's versions are a plain sequence, and a
//! version given by hand must sort after every version the lane ever had.

use std::fmt;

use shiplane_intent::model::VersionBump;

/// A `MAJOR.MINOR.PATCH` version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
}

/// A version string that is not `MAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a version: use MAJOR.MINOR.PATCH, like `1.4.0` (a leading `v` is allowed)"
)]
pub struct VersionError {
    /// The text given.
    pub text: String,
}

impl Version {
    /// Parses `1.2.3` or `v1.2.3`. Numbers have no leading zeros (semver's rule).
    pub fn parse(text: &str) -> Result<Version, VersionError> {
        let err = || VersionError {
            text: text.to_owned(),
        };
        let body = text.strip_prefix('v').unwrap_or(text);
        let parts: Vec<&str> = body.split('.').collect();
        let [a, b, c] = parts.as_slice() else {
            return Err(err());
        };
        let num = |p: &str| -> Result<u64, VersionError> {
            if p.is_empty()
                || !p.bytes().all(|b| b.is_ascii_digit())
                || (p.len() > 1 && p.starts_with('0'))
            {
                return Err(err());
            }
            p.parse().map_err(|_| err())
        };
        Ok(Version {
            major: num(a)?,
            minor: num(b)?,
            patch: num(c)?,
        })
    }

    /// The version after this one for `bump`.
    #[must_use]
    pub fn bump(self, bump: VersionBump) -> Version {
        match bump {
            VersionBump::Patch => Version {
                patch: self.patch + 1,
                ..self
            },
            VersionBump::Minor => Version {
                minor: self.minor + 1,
                patch: 0,
                ..self
            },
            VersionBump::Major => Version {
                major: self.major + 1,
                minor: 0,
                patch: 0,
            },
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The version of the next release of a lane: `requested` when given (it must be greater than
/// every earlier version), else the highest earlier version bumped by `bump` (from `0.0.0` for
/// the first release).
///
/// The highest earlier version, not the current one: after a rollback to `0.2.0` from `0.3.0`
/// the next promotion is `0.4.0`, so one version never names two releases.
pub fn next_version(
    earlier: &[Version],
    bump: VersionBump,
    requested: Option<&str>,
) -> Result<Version, String> {
    let highest = earlier.iter().max().copied();
    match requested {
        Some(text) => {
            let v = Version::parse(text).map_err(|e| e.to_string())?;
            match highest {
                Some(h) if v <= h => Err(format!(
                    "version {v} is not greater than {h}, the lane's highest version so far; use {} or higher",
                    h.bump(bump)
                )),
                _ => Ok(v),
            }
        }
        None => Ok(highest
            .unwrap_or(Version {
                major: 0,
                minor: 0,
                patch: 0,
            })
            .bump(bump)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_and_refuses() {
        assert_eq!(v("v1.2.3").to_string(), "1.2.3");
        for bad in ["1.2", "1.2.3-rc.1", "01.2.3", "a.b.c", "", "1..3"] {
            assert!(Version::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bumps_from_the_highest_earlier_version() {
        let earlier = [v("0.3.0"), v("0.2.0")];
        assert_eq!(
            next_version(&earlier, VersionBump::Minor, None),
            Ok(v("0.4.0"))
        );
        assert_eq!(
            next_version(&earlier, VersionBump::Patch, None),
            Ok(v("0.3.1"))
        );
        assert_eq!(
            next_version(&earlier, VersionBump::Major, None),
            Ok(v("1.0.0"))
        );
        assert_eq!(next_version(&[], VersionBump::Minor, None), Ok(v("0.1.0")));
    }

    #[test]
    fn a_requested_version_must_be_greater() {
        let earlier = [v("0.3.0")];
        assert_eq!(
            next_version(&earlier, VersionBump::Minor, Some("v1.0.0")),
            Ok(v("1.0.0"))
        );
        let err = next_version(&earlier, VersionBump::Minor, Some("0.3.0")).unwrap_err();
        assert!(err.contains("not greater than 0.3.0"), "{err}");
        assert!(err.contains("0.4.0"), "{err}");
        assert!(next_version(&earlier, VersionBump::Minor, Some("banana")).is_err());
    }
}
