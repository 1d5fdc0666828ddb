//! Freeze windows: `DAY HH:MM - DAY HH:MM ZONE`, weekly, in an IANA time zone.
//!
//! A window is evaluated on the wall clock of its zone, so `Fri 18:00 - Mon 08:00
//! Asia/Shanghai` means the same hours every week, daylight saving or not. The caller gives the
//! instant and the loaded zone: this module reads neither the clock nor the tz database.

use jiff::Timestamp;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const WEEK_MINUTES: u32 = 7 * 24 * 60;

/// A parsed freeze window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeWindow {
    /// The text as written in the intent.
    pub text: String,
    /// Start, in minutes since Monday 00:00 (wall clock of `zone`).
    pub start: u32,
    /// End (exclusive), in minutes since Monday 00:00; may be before `start` (the window wraps
    /// over the end of the week).
    pub end: u32,
    /// IANA zone name, or `UTC`.
    pub zone: String,
}

/// A window that does not parse (`shiplane check` reports these first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("freeze window `{text}`: {reason}")]
pub struct FreezeError {
    /// The window's text.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

impl FreezeWindow {
    /// Parses `Fri 18:00 - Mon 08:00 Asia/Shanghai`.
    pub fn parse(text: &str) -> Result<FreezeWindow, FreezeError> {
        let err = |reason: &str| FreezeError {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [d1, t1, "-", d2, t2, zone] = parts.as_slice() else {
            return Err(err("expected `DAY HH:MM - DAY HH:MM ZONE`"));
        };
        let at = |day: &str, time: &str| -> Result<u32, FreezeError> {
            let d = DAYS
                .iter()
                .position(|x| *x == day)
                .ok_or_else(|| err(&format!("`{day}` is not one of {}", DAYS.join(", "))))?;
            let (h, m) = time
                .split_once(':')
                .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
                .filter(|(h, m)| *h < 24 && *m < 60 && time.len() == 5)
                .ok_or_else(|| err(&format!("`{time}` is not HH:MM")))?;
            Ok(u32::try_from(d).unwrap_or(0) * 24 * 60 + h * 60 + m)
        };
        Ok(FreezeWindow {
            text: text.to_owned(),
            start: at(d1, t1)?,
            end: at(d2, t2)?,
            zone: (*zone).to_owned(),
        })
    }

    /// Whether `now` falls inside the window on the wall clock of `tz` (the zone named by
    /// [`FreezeWindow::zone`], loaded by the caller). The start is inside, the end is not; a
    /// window whose start equals its end is empty.
    #[must_use]
    pub fn contains(&self, now: Timestamp, tz: &TimeZone) -> bool {
        let local = now.to_zoned(tz.clone());
        let day = match local.weekday() {
            Weekday::Monday => 0,
            Weekday::Tuesday => 1,
            Weekday::Wednesday => 2,
            Weekday::Thursday => 3,
            Weekday::Friday => 4,
            Weekday::Saturday => 5,
            Weekday::Sunday => 6,
        };
        let minute = day * 24 * 60
            + u32::try_from(local.hour()).unwrap_or(0) * 60
            + u32::try_from(local.minute()).unwrap_or(0);
        debug_assert!(minute < WEEK_MINUTES);
        match self.start.cmp(&self.end) {
            std::cmp::Ordering::Less => self.start <= minute && minute < self.end,
            std::cmp::Ordering::Greater => minute >= self.start || minute < self.end,
            std::cmp::Ordering::Equal => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn shanghai() -> TimeZone {
        // A fixed +08:00 zone behaves as Asia/Shanghai (no DST since 1991) without the tzdb.
        TimeZone::fixed(jiff::tz::offset(8))
    }

    #[test]
    fn weekend_window_wraps_over_the_week() {
        let w = FreezeWindow::parse("Fri 18:00 - Mon 08:00 Asia/Shanghai")
            .unwrap_or_else(|e| panic!("{e}"));
        let tz = shanghai();
        // 2026-11-20 is a Friday. 10:00Z = 18:00 in Shanghai: frozen from exactly then.
        let cases = [
            ("2026-11-20T09:59:00Z", false),
            ("2026-11-20T10:00:00Z", true),
            ("2026-11-22T12:00:00Z", true),  // Sunday 20:00
            ("2026-11-22T23:59:00Z", true),  // Monday 07:59
            ("2026-11-23T00:00:00Z", false), // Monday 08:00
            ("2026-11-25T04:00:00Z", false), // Wednesday noon
        ];
        for (now, frozen) in cases {
            assert_eq!(w.contains(at(now), &tz), frozen, "{now}");
        }
    }

    #[test]
    fn window_within_a_day_and_in_utc() {
        let w = FreezeWindow::parse("Wed 09:00 - Wed 17:00 UTC").unwrap_or_else(|e| panic!("{e}"));
        assert!(w.contains(at("2026-11-25T12:00:00Z"), &TimeZone::UTC));
        assert!(!w.contains(at("2026-11-25T17:00:00Z"), &TimeZone::UTC));
        assert!(!w.contains(at("2026-11-24T12:00:00Z"), &TimeZone::UTC));
    }

    #[test]
    fn refuses_malformed_windows() {
        for bad in [
            "Fri 18:00 Mon 08:00 UTC",
            "Friday 18:00 - Mon 08:00 UTC",
            "Fri 24:00 - Mon 08:00 UTC",
            "Fri 8:00 - Mon 08:00 UTC",
        ] {
            assert!(FreezeWindow::parse(bad).is_err(), "{bad}");
        }
    }
}
