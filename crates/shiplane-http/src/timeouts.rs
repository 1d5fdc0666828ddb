//! How long Shiplane waits for the network: one setting, `SHIPLANE_NETWORK_TIMEOUT`, turned
//! into the connect, inactivity and per-operation limits every adapter applies (the git child
//! processes of the `GitOps` writer, the registry client, anything else that dials out).
//!
//! Why one number rather than three: what a user knows is "this remote is slow" or "this
//! network is bad"; the connect and total limits follow from the inactivity limit. The
//! default is chosen so that a black-holed remote — one that accepts the connection and never
//! answers — fails a command within 30 seconds. This module only parses and derives; it
//! knows nothing of git, registries or webhooks.

use std::time::Duration;

/// The environment variable that sets [`NetworkTimeouts::inactivity`], in whole seconds
/// (`20` or `20s`).
pub const NETWORK_TIMEOUT_ENV: &str = "SHIPLANE_NETWORK_TIMEOUT";

/// The inactivity limit without the setting, in seconds.
pub const DEFAULT_NETWORK_TIMEOUT_SECS: u64 = 20;

/// The largest accepted setting (an hour): anything longer is a hang by another name.
const MAX_SECS: u64 = 3600;

/// The longest wait for a connection, however large the inactivity limit.
const MAX_CONNECT: Duration = Duration::from_secs(10);

/// One operation may take this many inactivity windows in total, progress or not: long
/// enough for a large fetch or blob upload that keeps moving, short enough that a remote
/// trickling a byte at a time cannot hold a release forever.
const TOTAL_FACTOR: u32 = 30;

/// The limits of one network operation (a git fetch or push, an HTTP request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkTimeouts {
    /// The longest wait for a connection to be established.
    pub connect: Duration,
    /// The longest an operation may go without progress: no byte received, no progress line
    /// from git. A remote that accepts and never answers fails after this long.
    pub inactivity: Duration,
    /// The longest one operation may take in total, progress or not.
    pub total: Duration,
}

impl Default for NetworkTimeouts {
    /// 20 s without progress, 10 s to connect, 10 minutes per operation.
    fn default() -> NetworkTimeouts {
        NetworkTimeouts::from_secs(DEFAULT_NETWORK_TIMEOUT_SECS)
    }
}

/// `SHIPLANE_NETWORK_TIMEOUT` holds something that is not a usable number of seconds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{NETWORK_TIMEOUT_ENV}=`{value}` is not a whole number of seconds between 1 and {MAX_SECS} \
     (for example `{NETWORK_TIMEOUT_ENV}=30`); unset it for the default of \
     {DEFAULT_NETWORK_TIMEOUT_SECS} s"
)]
pub struct InvalidTimeout {
    /// The value as found.
    pub value: String,
}

impl NetworkTimeouts {
    /// The limits for an inactivity timeout of `secs` seconds (at least 1): connect within
    /// `min(secs, 10)` seconds, 30 × `secs` per operation in total.
    pub fn from_secs(secs: u64) -> NetworkTimeouts {
        NetworkTimeouts::from_inactivity(Duration::from_secs(secs.clamp(1, MAX_SECS)))
    }

    /// The limits derived from an inactivity timeout; tests use sub-second ones.
    pub fn from_inactivity(inactivity: Duration) -> NetworkTimeouts {
        NetworkTimeouts {
            connect: inactivity.min(MAX_CONNECT),
            inactivity,
            total: inactivity.saturating_mul(TOTAL_FACTOR),
        }
    }

    /// Parses the setting's value: whole seconds, optionally followed by `s`.
    pub fn parse(value: &str) -> Result<NetworkTimeouts, InvalidTimeout> {
        let trimmed = value.trim();
        let digits = trimmed.strip_suffix('s').unwrap_or(trimmed);
        match digits.parse::<u64>() {
            Ok(secs) if (1..=MAX_SECS).contains(&secs) => Ok(NetworkTimeouts::from_secs(secs)),
            _ => Err(InvalidTimeout {
                value: value.to_owned(),
            }),
        }
    }

    /// The limits from `SHIPLANE_NETWORK_TIMEOUT`, or the defaults when it is unset or empty.
    pub fn from_env() -> Result<NetworkTimeouts, InvalidTimeout> {
        match std::env::var(NETWORK_TIMEOUT_ENV) {
            Ok(value) if !value.trim().is_empty() => NetworkTimeouts::parse(&value),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(NetworkTimeouts::default()),
            Err(std::env::VarError::NotUnicode(value)) => Err(InvalidTimeout {
                value: value.to_string_lossy().into_owned(),
            }),
        }
    }

    /// What to tell a user whose operation timed out: the current setting and how to change
    /// it, as one clause (`SHIPLANE_NETWORK_TIMEOUT is 20 s; raise it …`).
    pub fn advice(&self) -> String {
        format!(
            "{NETWORK_TIMEOUT_ENV} is {}; raise it (in seconds) for a slow remote, or check \
             that the remote is up and answering",
            seconds(self.inactivity)
        )
    }
}

/// A duration as people read it in an error: `20 s`, `1.5 s`, `250 ms`.
pub fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_setting() {
        for (value, inactivity) in [("20", 20), ("5s", 5), (" 90 ", 90), ("3600", 3600)] {
            let t = NetworkTimeouts::parse(value).unwrap();
            assert_eq!(t.inactivity, Duration::from_secs(inactivity), "{value}");
        }
        for bad in ["", "0", "-1", "1.5", "1m", "3601", "twenty"] {
            let err = NetworkTimeouts::parse(bad).unwrap_err();
            assert!(err.to_string().contains(NETWORK_TIMEOUT_ENV), "{err}");
        }
    }

    #[test]
    fn derives_connect_and_total_limits() {
        let d = NetworkTimeouts::default();
        assert_eq!(d.inactivity, Duration::from_secs(20));
        assert_eq!(d.connect, Duration::from_secs(10));
        assert_eq!(d.total, Duration::from_mins(10));
        // The default must fail a black-holed remote within 30 s.
        assert!(d.inactivity <= Duration::from_secs(30));
        let small = NetworkTimeouts::from_secs(2);
        assert_eq!(small.connect, Duration::from_secs(2));
        assert_eq!(small.total, Duration::from_mins(1));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(seconds(Duration::from_secs(20)), "20 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(seconds(Duration::from_millis(250)), "250 ms");
    }
}
