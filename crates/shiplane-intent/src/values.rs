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

/// A git branch name (the rules of `git check-ref-format --branch`): no component starts with
/// `.` or ends with `.lock`, no `..`, `//`, `@{`, control characters or ` ~^:?*[\\`, and not
/// `@` or `HEAD`, which git reads as revisions rather than branches.
pub fn branch(s: &str) -> Result<(), String> {
    let bad = s.is_empty()
        || s == "@"
        || s == "HEAD"
        || s.starts_with(['-', '/'])
        || s.ends_with(['/', '.'])
        || s.split('/')
            .any(|c| c.starts_with('.') || c.to_ascii_lowercase().ends_with(".lock"))
        || s.contains("..")
        || s.contains("//")
        || s.contains("@{")
        || s.chars().any(|c| c.is_control() || " ~^:?*[\\".contains(c));
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

/// A path inside the `GitOps` repository (a lane's `gitops.path`, a write-mode file): relative,
/// `/`-separated, without empty, `.` or `..` segments, without a `.git` segment, backslashes or
/// control characters. `{variable}` segments are allowed: what fills them is a DNS label, which
/// cannot make any of these.
///
/// Why so strict: the path is joined onto the repository root by the `GitOps` writer and onto
/// `--out` by `render`, so anything else could leave the directory, write into git's own
/// metadata (`.git/hooks`), or mean different things to different tools.
pub fn gitops_path(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.starts_with('/') {
        return Err("it is absolute; GitOps paths are relative to the repository root".into());
    }
    if s.contains('\\') {
        return Err("it contains a backslash; separate directories with `/`".into());
    }
    if s.chars().any(char::is_control) {
        return Err("it contains a control character (a newline, tab or NUL)".into());
    }
    for seg in s.split('/') {
        match seg {
            "" => {
                return Err("it has an empty segment (`//`, or a `/` at the start or end)".into());
            }
            "." | ".." => return Err(format!("it has a `{seg}` segment")),
            // Windows and macOS file systems ignore trailing dots and spaces and case, so
            // `.GIT.` is `.git` to a checkout there (git itself refuses these too).
            _ if seg
                .trim_end_matches(['.', ' '])
                .eq_ignore_ascii_case(".git") =>
            {
                return Err("it has a `.git` segment, which is git's own metadata".into());
            }
            _ => {}
        }
    }
    Ok(())
}

/// What an address is for; decides whether a user name alone counts as a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// A git remote: `https://TOKEN@host/…` is how several forges take a token (and Shiplane's
    /// `GitOps` writer reads it so), while `git@host:path` and `ssh://git@host/…` name the ssh
    /// user, which is not a secret.
    Git,
    /// An image registry prefix: references have no user information at all.
    Registry,
    /// Any other URL (checks, variables): user information in `scheme://` addresses is refused,
    /// a bare `user@host` is not an address.
    Url,
}

/// The user information of an address: (scheme, byte range of `userinfo` without the `@`).
fn userinfo(addr: &str) -> Option<(Option<&str>, std::ops::Range<usize>)> {
    let (scheme, start) = match addr.find("://") {
        Some(i)
            if i > 0
                && addr[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            (Some(&addr[..i]), i + 3)
        }
        _ => (None, 0),
    };
    let rest = &addr[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..end].rfind('@')?;
    Some((scheme, start..start + at))
}

fn is_ssh(scheme: Option<&str>) -> bool {
    scheme.is_none_or(|s| {
        matches!(
            s.to_ascii_lowercase().as_str(),
            "ssh" | "git+ssh" | "ssh+git"
        )
    })
}

/// Why `addr` carries a credential (`"a password"`, `"a token or user name"`), or `None`.
///
/// A password is always a credential; for `https://` and other non-ssh schemes so is a user
/// name alone, since `https://TOKEN@host` is a token; registries take no user information.
#[must_use]
pub fn address_credential(addr: &str, kind: AddressKind) -> Option<&'static str> {
    let (scheme, range) = userinfo(addr)?;
    let info = &addr[range];
    if info.contains(':') {
        return Some("a password");
    }
    match kind {
        AddressKind::Registry => Some("user information"),
        AddressKind::Git | AddressKind::Url if !is_ssh(scheme) => Some("a token or user name"),
        AddressKind::Git | AddressKind::Url => None,
    }
}

/// `addr` without its credential: a password is removed (an ssh user name is kept), and every
/// user information of a non-ssh `scheme://` address is removed. Anything else is returned as
/// it is. This is the second line of defence for rendered objects and printed models: `check`
/// refuses such addresses, but nothing should ever copy one out if it got past.
#[must_use]
pub fn without_credentials(addr: &str) -> std::borrow::Cow<'_, str> {
    let Some((scheme, range)) = userinfo(addr) else {
        return addr.into();
    };
    let info = &addr[range.clone()];
    let keep = match (info.split_once(':'), is_ssh(scheme)) {
        // An ssh user name says which account the key is for; it is not a secret.
        (Some((user, _)), true) => format!("{user}@"),
        (None, true) => return addr.into(),
        // A password, or an `https://` user name (which may be a token): all of it goes.
        (_, false) => String::new(),
    };
    format!("{}{keep}{}", &addr[..range.start], &addr[range.end + 1..]).into()
}

/// `text` with the user information of every `scheme://user:secret@` in it masked by `*`, one
/// per character, so columns (and carets under them) stay where they were. Used on echoed
/// source lines and messages: a diagnostic about a credential must not print it.
#[must_use]
pub fn mask_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let after = i + 3;
        out.push_str(&rest[..after]);
        rest = &rest[after..];
        let end = rest
            .find(|c: char| {
                c == '/' || c == '?' || c == '#' || c.is_whitespace() || "\"'`,{}[]".contains(c)
            })
            .unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            out.extend(rest[..at].chars().map(|_| '*'));
            rest = &rest[at..];
        }
    }
    out.push_str(rest);
    out
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
        for bad in ["HEAD", "@", "a/.hidden", "x.lock/y", "a\u{7f}b", "a\tb"] {
            assert!(branch(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn gitops_paths() {
        for ok in [
            "lanes/dev",
            "lanes/pr/{name}",
            "apps/.github-not/x",
            "a.git",
            "x/.gitignore",
        ] {
            assert!(gitops_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/abs",
            "../x",
            "a/../b",
            "./a",
            "a//b",
            "a/",
            ".git/hooks",
            "x/.GIT",
            "x/.git. ",
            "a\\b",
            "a\0b",
            "a\nb",
        ] {
            assert!(gitops_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn credentials_in_addresses() {
        use AddressKind::{Git, Registry, Url};
        for (addr, kind, found) in [
            ("https://u:TOKEN@host/repo.git", Git, true),
            ("https://TOKEN@host/repo.git", Git, true),
            ("https://host/repo.git", Git, false),
            ("https://host/a@b", Git, false),
            ("ssh://git@host/repo.git", Git, false),
            ("ssh://git:pw@host/repo.git", Git, true),
            ("git@github.com:org/repo.git", Git, false),
            ("/srv/gitops.git", Git, false),
            ("registry.example.com/shop", Registry, false),
            ("u:p@registry.example.com/shop", Registry, true),
            ("robot@registry.example.com/shop", Registry, true),
            ("https://u:p@example.com/health", Url, true),
            ("ops@example.com", Url, false),
        ] {
            assert_eq!(address_credential(addr, kind).is_some(), found, "{addr}");
        }
        assert_eq!(
            without_credentials("https://u:TOKEN@host/repo.git"),
            "https://host/repo.git"
        );
        assert_eq!(
            without_credentials("https://TOKEN@host/r"),
            "https://host/r"
        );
        assert_eq!(
            without_credentials("ssh://git:pw@host/r"),
            "ssh://git@host/r"
        );
        assert_eq!(without_credentials("git@host:r.git"), "git@host:r.git");
        assert_eq!(without_credentials("u:p@reg/x"), "u@reg/x");
        assert_eq!(
            mask_credentials("repo: \"https://u:TOKEN@host/x\" # ssh://git@h/y"),
            "repo: \"https://*******@host/x\" # ssh://***@h/y"
        );
    }
}
