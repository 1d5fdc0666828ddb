//! Shiplane notifications (SPEC §9): tell people when a release lands, a lane is rolled back,
//! something fails, a promotion waits for approval or an artifact is published.
//!
//! Three channels, each exactly as its receiver documents it:
//!
//! * **Feishu/Lark custom bot** — an interactive card, signed with `timestamp` and
//!   `sign = base64(HMAC-SHA256(key = timestamp + "\n" + secret, message = ""))`.
//! * **Slack incoming webhook** — `text` (the fallback) and `blocks`.
//! * **Generic JSON webhook** — a versioned JSON body, signed with
//!   `X-Shiplane-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` and
//!   `X-Shiplane-Timestamp` (the same timestamp is inside the signed body).
//!
//! The crate is a functional core ([`message`]: bodies and signatures, deterministic given the
//! timestamp; [`targets`]: which targets an event goes to) and a small shell ([`send`]:
//! SSRF-checked, address-pinned HTTP with bounded retries and one total deadline).
//!
//! **Invariants:** a notification never fails or blocks its caller beyond the deadline (every
//! outcome is a [`Delivery`], never an error); webhook URLs and secrets come from environment
//! variables, are held as [`Secret`] and never appear in a `Debug`, an error or a report;
//! a target is only reached at an address that passed [`ssrf`] checks, and the connection is
//! pinned to that address (no second DNS lookup, no redirects, no proxy).

mod event;
pub mod message;
pub mod send;
pub mod ssrf;
pub mod targets;
#[cfg(feature = "testing")]
pub mod testing;

pub use event::{Event, EventKind, Link, ServiceImage};
pub use send::{Delivery, Options, Outcome, send, send_blocking, send_from_env};
pub use targets::{Channel, Secret, Target, select_targets};
