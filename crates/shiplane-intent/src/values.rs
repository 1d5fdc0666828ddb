//! Checks of single values: Kubernetes names and quantities, durations, freeze windows, cron
//! schedules, git branch names and path globs. Each returns `Err(reason)` with a sentence that
//! can follow "because" in a diagnostic.

/// A DNS-1123 label: lowercase alphanumerics and `-`, starting and ending alphanumeric, ≤ 63.
pub fn dns_label(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.len() > 63 {
        return Err(format!(
            "it is {} characters long; the limit is 63",
            s.len()
        ));
    }
    if s.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("it contains upper-case letters".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!("`{c}` is not allowed (only a-z, 0-9 and `-`)"));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("it must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A DNS-1123 subdomain: dot-separated labels, ≤ 253 characters (`v0.1` is one).
pub fn dns_subdomain(s: &str) -> Result<(), String> {
    if s.len() > 253 {
        return Err(format!(
            "it is {} characters long; the limit is 253",
            s.len()
        ));
    }
    for part in s.split('.') {
        dns_label(part)?;
    }
    Ok(())
}

/// A name suggested in place of an invalid one: lower-cased, other characters as `-`.
#[must_use]
pub fn suggest_label(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    out.trim_matches('-').chars().take(63).collect()
}

/// A Kubernetes resource quantity (`200m`, `512Mi`, `1.5`, `1e3`).
pub fn quantity(s: &str) -> Result<(), String> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let num_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (num, suffix) = body.split_at(num_end);
    let digits_ok = !num.is_empty()
        && num != "."
        && num.matches('.').count() <= 1
        && num.chars().any(|c| c.is_ascii_digit());
    if !digits_ok {
        return Err("it does not start with a number".into());
    }
    let suffix_ok = matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || (suffix.len() > 1
        && suffix.starts_with(['e', 'E'])
        && suffix[1..]
            .strip_prefix(['+', '-'])
            .unwrap_or(&suffix[1..])
            .chars()
            .all(|c| c.is_ascii_digit())
        && suffix[1..].trim_start_matches(['+', '-']).chars().count() > 0);
    if !suffix_ok {
        let hint = match suffix {
            "MB" | "mb" | "Mb" | "M i" => " (write `Mi` for mebibytes)",
            "GB" | "gb" | "Gb" => " (write `Gi` for gibibytes)",
            "KB" | "kb" | "Kb" => " (write `Ki` for kibibytes)",
            _ => "",
        };
        return Err(format!("`{suffix}` is not a Kubernetes unit{hint}"));
    }
    if s.starts_with('-') {
        return Err("it is negative".into());
    }
    Ok(())
}

/// A duration like `30s`, `5m`, `72h`, `7d`, `1h30m`. Returns seconds.
pub fn duration(s: &str) -> Result<u64, String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(format!("`{c}` is not a unit (use s, m, h, d or w)")),
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("a unit `{c}` without a number before it"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!(
            "`{num}` has no unit (write `{num}s`, `{num}m`, `{num}h` or `{num}d`)"
        ));
    }
    Ok(total)
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A freeze window: `DAY HH:MM - DAY HH:MM ZONE`, e.g. `Fri 18:00 - Mon 08:00 Asia/Shanghai`.
/// The zone is an IANA name or `UTC`; whether the zone exists is checked when it is used.
pub fn freeze_window(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [d1, t1, dash, d2, t2, zone] = parts.as_slice() else {
        return Err(
            "expected `DAY HH:MM - DAY HH:MM ZONE`, like `Fri 18:00 - Mon 08:00 Asia/Shanghai`"
                .into(),
        );
    };
    if *dash != "-" {
        return Err("the two ends must be separated by ` - `".into());
    }
    for d in [d1, d2] {
        if !DAYS.contains(d) {
            return Err(format!(
                "`{d}` is not a day; use one of {}",
                DAYS.join(", ")
            ));
        }
    }
    for t in [t1, t2] {
        let ok = t.len() == 5
            && t.as_bytes()[2] == b':'
            && t[..2].parse::<u8>().is_ok_and(|h| h < 24)
            && t[3..].parse::<u8>().is_ok_and(|m| m < 60);
        if !ok {
            return Err(format!("`{t}` is not a time of day (HH:MM, 24-hour)"));
        }
    }
    let zone_ok = *zone == "UTC"
        || (zone.contains('/')
            && zone.split('/').all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
            }));
    if !zone_ok {
        return Err(format!(
            "`{zone}` is not a time zone (use an IANA name like `Asia/Shanghai`, or `UTC`)"
        ));
    }
    Ok(())
}

/// A five-field cron schedule (`*/5 * * * *`) or a macro (`@hourly`).
#[expect(
    clippy::many_single_char_names,
    reason = "cron fields read best as a-b ranges"
)]
pub fn cron(s: &str) -> Result<(), String> {
    if matches!(
        s,
        "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly"
    ) {
        return Ok(());
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "it has {} fields; a schedule has 5 (minute hour day month weekday)",
            fields.len()
        ));
    }
    let ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    for (f, (lo, hi)) in fields.iter().zip(ranges) {
        for item in f.split(',') {
            let (base, step) = item.split_once('/').unwrap_or((item, "1"));
            if step.parse::<u32>().map_or(true, |n| n == 0) {
                return Err(format!("`{item}` has an invalid step"));
            }
            if base == "*" {
                continue;
            }
            let (a, b) = base.split_once('-').unwrap_or((base, base));
            let named = |x: &str| -> Option<u32> {
                x.parse::<u32>().ok().or_else(|| {
                    let l = x.to_ascii_lowercase();
                    ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
                        .iter()
                        .position(|d| *d == l)
                        .or_else(|| {
                            [
                                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
                                "oct", "nov", "dec",
                            ]
                            .iter()
                            .position(|m| *m == l)
                            .map(|i| i + 1)
                        })
                        .and_then(|i| u32::try_from(i).ok())
                })
            };
            match (named(a), named(b)) {
                (Some(x), Some(y)) if x >= lo && y <= hi && x <= y => {}
                _ => return Err(format!("`{item}` is out of range {lo}-{hi}")),
            }
        }
    }
    Ok(())
}

/// A git branch name (the common rules of `git check-ref-format --branch`).
pub fn branch(s: &str) -> Result<(), String> {
    let bad = s.is_empty()
        || s.starts_with(['-', '/', '.'])
        || s.ends_with(['/', '.'])
        || s.to_ascii_lowercase().ends_with(".lock")
        || s.contains("..")
        || s.contains("//")
        || s.contains("@{")
        || s.chars()
            .any(|c| c.is_ascii_control() || " ~^:?*[\\".contains(c));
    if bad {
        return Err("it is not a valid git branch name".into());
    }
    Ok(())
}

/// A repository-relative path glob.
pub fn glob(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.starts_with('/') {
        return Err("it is absolute; globs are relative to the repository root".into());
    }
    if s.split('/').any(|p| p == "..") {
        return Err("it leaves the repository (`..`)".into());
    }
    if s.starts_with("./") {
        return Err("it starts with `./`; write the path without it".into());
    }
    // Most globs are plain paths with `*` / `**`: those cannot fail to compile, and checking
    // them by hand saves compiling thousands of globs in a large intent.
    let plain = s.split('/').all(|part| {
        part == "**"
            || (!part.contains("**")
                && part.chars().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '*' | '@' | '+')
                }))
    });
    if plain {
        return Ok(());
    }
    globset::GlobBuilder::new(s)
        .literal_separator(true)
        .build()
        .map(|_| ())
        .map_err(|e| e.kind().to_string())
}

/// An absolute path inside a container (`/tmp`).
pub fn absolute_path(s: &str) -> Result<(), String> {
    if !s.starts_with('/') {
        return Err("it must be an absolute path, starting with `/`".into());
    }
    if s.split('/').any(|p| p == "..") {
        return Err("it must not contain `..`".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "api", "v0-1", "a1"] {
            assert!(dns_label(ok).is_ok(), "{ok}");
        }
        for bad in ["", "A", "a_b", "-a", "a-", &"a".repeat(64)] {
            assert!(dns_label(bad).is_err(), "{bad}");
        }
        assert!(dns_subdomain("v0.1").is_ok());
        assert!(dns_subdomain("v0..1").is_err());
        assert_eq!(suggest_label("Miker_Prod"), "miker-prod");
    }

    #[test]
    fn quantities() {
        for ok in ["200m", "512Mi", "1", "1.5", "0.5Gi", "1e3", "100k"] {
            assert!(quantity(ok).is_ok(), "{ok}");
        }
        for bad in ["", "abc", "512MB", "1.2.3", "-1", "m", "1e"] {
            assert!(quantity(bad).is_err(), "{bad}");
        }
        assert!(quantity("512MB").unwrap_err().contains("Mi"));
    }

    #[test]
    fn durations() {
        assert_eq!(duration("72h"), Ok(259_200));
        assert_eq!(duration("1h30m"), Ok(5_400));
        assert!(duration("5").is_err());
        assert!(duration("5x").is_err());
    }

    #[test]
    fn freeze_windows() {
        assert!(freeze_window("Fri 18:00 - Mon 08:00 Asia/Shanghai").is_ok());
        assert!(freeze_window("Sat 00:00 - Sun 23:59 UTC").is_ok());
        assert!(freeze_window("Friday 18:00 - Mon 08:00 UTC").is_err());
        assert!(freeze_window("Fri 25:00 - Mon 08:00 UTC").is_err());
        assert!(freeze_window("Fri 18:00 Mon 08:00").is_err());
    }

    #[test]
    fn cron_schedules() {
        for ok in ["*/5 * * * *", "0 3 * * mon-fri", "@daily", "0 0 1 jan *"] {
            assert!(cron(ok).is_ok(), "{ok}");
        }
        for bad in ["* * * *", "61 * * * *", "*/0 * * * *"] {
            assert!(cron(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn globs_and_branches() {
        assert!(glob("apps/**").is_ok());
        assert!(glob("/abs/**").is_err());
        assert!(glob("../x").is_err());
        assert!(glob("a/[b").is_err());
        assert!(branch("release/v1").is_ok());
        assert!(branch("bad branch").is_err());
    }
}
