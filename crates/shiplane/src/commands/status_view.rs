//! Pure helpers of `shiplane status`: the order of the lanes (following `from` edges), the text
//! of one cell, and a table layout that keeps columns aligned whatever the names' lengths.

use std::collections::BTreeMap;

/// Marker on a cell whose digest differs from the upstream (`from`) lane's digest.
pub(super) const DIFFERS_UPSTREAM: char = '*';
/// Marker on a cell whose digest is not (yet) what a downstream lane runs.
pub(super) const AHEAD_DOWNSTREAM: char = '+';

/// Lane names in graph order: lanes without an upstream lane first, then each lane after its
/// `from` lane (by depth along the `from` edges), ties by name. `lanes` is (name, from).
pub(super) fn lane_order(lanes: &[(String, Option<String>)]) -> Vec<String> {
    let from: BTreeMap<&str, Option<&str>> = lanes
        .iter()
        .map(|(n, f)| (n.as_str(), f.as_deref()))
        .collect();
    let depth = |name: &str| -> usize {
        let mut d = 0;
        let mut at = name;
        // Bounded by the number of lanes: a cycle (refused by `check`) cannot loop forever.
        while let Some(Some(up)) = from.get(at) {
            if d >= lanes.len() || !from.contains_key(up) {
                break;
            }
            d += 1;
            at = up;
        }
        d
    };
    let mut out: Vec<(usize, &str)> = from.keys().map(|n| (depth(n), *n)).collect();
    out.sort_unstable();
    out.into_iter().map(|(_, n)| n.to_owned()).collect()
}

/// The first 8 hex characters of a digest (after `sha256:`).
pub(super) fn short_digest(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    hex.get(..8).unwrap_or(hex)
}

/// A cell: the release's version (`v0.1.0`) or the image's short source commit, then the short
/// digest.
pub(super) fn cell(version: Option<&str>, source_commit: &str, digest: &str) -> String {
    let label = version.map_or_else(
        || source_commit.get(..7).unwrap_or(source_commit).to_owned(),
        |v| format!("v{}", v.strip_prefix('v').unwrap_or(v)),
    );
    format!("{label} {}", short_digest(digest))
}

/// Every cell padded to its column's width (in characters, not bytes), so that joining a row's
/// cells with the same separator starts each column at the same place on every line.
pub(super) fn layout(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|r| {
            widths
                .iter()
                .enumerate()
                .map(|(c, w)| {
                    let text = r.get(c).map_or("", String::as_str);
                    let pad = w.saturating_sub(text.chars().count());
                    format!("{text}{}", " ".repeat(pad))
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes(spec: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        spec.iter()
            .map(|(n, f)| ((*n).to_owned(), f.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn lanes_follow_from_edges_roots_first_ties_by_name() {
        let l = lanes(&[
            ("prod", Some("staging")),
            ("dev", None),
            ("staging", Some("dev")),
            ("qa", None),
        ]);
        assert_eq!(lane_order(&l), ["dev", "qa", "staging", "prod"]);
    }

    #[test]
    fn a_cycle_does_not_hang() {
        let l = lanes(&[("a", Some("b")), ("b", Some("a"))]);
        assert_eq!(lane_order(&l).len(), 2);
    }

    #[test]
    fn cells_and_layout() {
        assert_eq!(
            cell(Some("0.1.0"), "abcdef0123", "sha256:0123456789ab"),
            "v0.1.0 01234567"
        );
        assert_eq!(cell(None, "abcdef0123", "sha256:01"), "abcdef0 01");
        let t = layout(&[
            vec!["service".into(), "dév-ünïcode".into()],
            vec!["a-very-long-service-name".into(), "-".into()],
        ]);
        let widths: Vec<usize> = t
            .iter()
            .map(|r| r.iter().map(|c| c.chars().count()).sum())
            .collect();
        assert_eq!(widths[0], widths[1]);
    }
}
