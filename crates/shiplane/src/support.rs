//! Small adapters the commands share: where Shiplane caches, what CI run this is, and the
//! clock. Kept here so the pure crates never read the environment or the time.

use std::path::PathBuf;

/// Shiplane's cache directory: `SHIPLANE_CACHE_DIR`, else `$XDG_CACHE_HOME/shiplane`, else
/// `~/.cache/shiplane`, else a directory under the system temp dir.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SHIPLANE_CACHE_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(d).join("shiplane");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".cache").join("shiplane");
    }
    std::env::temp_dir().join("shiplane-cache")
}

/// The CI run that is building, when the environment says: GitHub Actions, Buildkite, or a
/// Tekton `PipelineRun` (`TEKTON_PIPELINE_RUN`, set by the pipelines `plan --format tekton`
/// emits), or `SHIPLANE_PROVENANCE` given explicitly.
pub fn provenance() -> Option<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(p) = var("SHIPLANE_PROVENANCE") {
        return Some(p);
    }
    if let (Some(server), Some(repo), Some(run)) = (
        var("GITHUB_SERVER_URL"),
        var("GITHUB_REPOSITORY"),
        var("GITHUB_RUN_ID"),
    ) {
        return Some(format!("{server}/{repo}/actions/runs/{run}"));
    }
    if let Some(url) = var("BUILDKITE_BUILD_URL") {
        return Some(url);
    }
    var("TEKTON_PIPELINE_RUN").map(|name| format!("tekton:pipelinerun/{name}"))
}

/// Now, as RFC 3339 UTC with second precision (`2026-11-22T18:04:05Z`).
pub fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the epoch as RFC 3339 UTC (days-to-civil from Howard Hinnant's algorithm).
pub fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// With `SHIPLANE_TIMING=1`, prints `timing: <ms since the first call> <what>` on stderr: where a
/// command spends its time (used to find the cost of a no-change promotion). Otherwise nothing.
pub fn timing(what: &str) {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Option<Instant>> = OnceLock::new();
    let start = START.get_or_init(|| {
        (std::env::var_os("SHIPLANE_TIMING").is_some_and(|v| v == "1")).then(Instant::now)
    });
    if let Some(start) = start {
        eprintln!(
            "timing: {:>8.1} ms  {what}",
            start.elapsed().as_secs_f64() * 1e3
        );
    }
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_370_645), "2026-11-22T18:04:05Z");
    }
}
