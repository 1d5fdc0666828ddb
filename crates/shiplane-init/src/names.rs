//! Names for proposed services and libraries: DNS-1123 labels derived from directory names,
//! made unique across the whole proposal.
//!
//! The intent requires service names to be DNS-1123 labels because they become Kubernetes object
//! names; libraries share the namespace because `depends_on` refers to both.

use std::collections::{BTreeMap, BTreeSet};

/// The longest DNS-1123 label.
pub const MAX_LABEL: usize = 63;

/// `raw` as a DNS-1123 label: lowercase ASCII letters, digits and `-`, starting and ending with
/// a letter or digit, at most `max` characters. Runs of other characters become one `-`.
/// `None` when nothing usable is left.
pub fn dns_label_max(raw: &str, max: usize) -> Option<String> {
    let mut out = String::new();
    let mut pending_dash = false;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_dash = true;
        }
    }
    out.truncate(max);
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() { None } else { Some(out) }
}

/// `raw` as a DNS-1123 label of at most 63 characters; see [`dns_label_max`].
pub fn dns_label(raw: &str) -> Option<String> {
    dns_label_max(raw, MAX_LABEL)
}

/// Folder names that say how something is built or laid out, not what it is: a Dockerfile in
/// `src/cartservice/src/` belongs to `cartservice`, one in `deploy/docker/` to the project.
pub const GENERIC_DIRS: [&str; 20] = [
    "app",
    "build",
    "builds",
    "ci",
    "cmd",
    "container",
    "containers",
    "deploy",
    "deployment",
    "deployments",
    "docker",
    "dockerfiles",
    "image",
    "images",
    "infra",
    "main",
    "ops",
    "source",
    "sources",
    "src",
];

/// True when a folder name is generic (see [`GENERIC_DIRS`]), compared case-insensitively.
pub fn is_generic_dir(name: &str) -> bool {
    GENERIC_DIRS.contains(&name.to_ascii_lowercase().as_str())
}

/// Candidate names for a directory, most preferred first: its last meaningful (non-generic)
/// segment, then its last two meaningful segments, then all of them, then its whole path. The
/// root directory is named after the project; a directory of generic segments only after its
/// `hint` (a Compose service name) when there is one, else after the project.
fn candidates(dir: &str, project: &str, fallback: &str, hint: Option<&str>) -> Vec<String> {
    if dir.is_empty() {
        return vec![project.to_owned()];
    }
    let segments: Vec<&str> = dir.split('/').collect();
    let meaningful: Vec<&str> = segments
        .iter()
        .copied()
        .filter(|s| !is_generic_dir(s))
        .collect();
    let label = |parts: &[&str]| dns_label(&parts.join("-")).unwrap_or_else(|| fallback.to_owned());
    let mut out = Vec::new();
    if meaningful.is_empty() {
        out.push(
            hint.and_then(dns_label)
                .unwrap_or_else(|| project.to_owned()),
        );
    } else {
        for take in [1, 2, meaningful.len()] {
            let take = take.min(meaningful.len());
            out.push(label(&meaningful[meaningful.len() - take..]));
        }
    }
    out.push(label(&segments));
    let mut unique = Vec::new();
    for name in out {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    unique
}

/// Gives each directory a unique DNS-1123 label. `dirs` must be sorted; the result is a pure
/// function of it, so the same repository always gets the same names.
///
/// A name shared by several directories is replaced, for all of them, by a longer one (`apps/api`
/// and `services/api` become `apps-api` and `services-api`); what still collides gets `-2`, `-3`.
pub fn assign(dirs: &[String], project: &str) -> BTreeMap<String, String> {
    assign_with_hints(dirs, project, &BTreeMap::new())
}

/// [`assign`], with a preferred name for directories whose path says nothing about what they
/// hold (only generic segments, see [`GENERIC_DIRS`]), such as the Compose service that builds
/// `docker/api.Dockerfile`.
pub fn assign_with_hints(
    dirs: &[String],
    project: &str,
    hints: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let all: Vec<Vec<String>> = dirs
        .iter()
        .map(|d| candidates(d, project, "unit", hints.get(d).map(String::as_str)))
        .collect();
    let mut level = vec![0usize; dirs.len()];
    let pick = |i: usize, level: &[usize]| -> String {
        let c = &all[i];
        c[level[i].min(c.len() - 1)].clone()
    };
    for _ in 0..4 {
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for i in 0..dirs.len() {
            *count.entry(pick(i, &level)).or_default() += 1;
        }
        let mut changed = false;
        for i in 0..dirs.len() {
            if count[&pick(i, &level)] > 1 && level[i] + 1 < all[i].len() {
                level[i] += 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut out = BTreeMap::new();
    for (i, dir) in dirs.iter().enumerate() {
        let base = pick(i, &level);
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&name) {
            let suffix = format!("-{n}");
            let mut stem = base.clone();
            stem.truncate(MAX_LABEL - suffix.len());
            while stem.ends_with('-') {
                stem.pop();
            }
            name = format!("{stem}{suffix}");
            n += 1;
        }
        taken.insert(name.clone());
        out.insert(dir.clone(), name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        let table = [
            ("Frontend_App", Some("frontend-app")),
            ("@shop/ui-kit", Some("shop-ui-kit")),
            ("--x--", Some("x")),
            ("___", None),
            ("v1.2", Some("v1-2")),
        ];
        for (raw, want) in table {
            assert_eq!(dns_label(raw).as_deref(), want, "{raw}");
        }
        let long = "a".repeat(70) + "-b";
        assert_eq!(dns_label(&long).unwrap().len(), 63);
        assert_eq!(dns_label_max("abc-def", 4).as_deref(), Some("abc"));
    }

    #[test]
    fn collisions_get_longer_names() {
        let dirs: Vec<String> = ["", "apps/api", "apps/web", "services/api", "x/apps-api"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let names = assign(&dirs, "shop");
        assert_eq!(names[""], "shop");
        assert_eq!(names["apps/web"], "web");
        assert_eq!(names["apps/api"], "apps-api");
        assert_eq!(names["services/api"], "services-api");
        assert_eq!(names["x/apps-api"], "x-apps-api");
    }

    #[test]
    fn generic_folders_never_name_a_service() {
        let dirs: Vec<String> = [
            "deploy/docker",
            "docker",
            "services/api/src",
            "src/cartservice/src",
            "src/frontend",
            "tools/docker",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let hints = BTreeMap::from([("docker".to_owned(), "Migrator".to_owned())]);
        let names = assign_with_hints(&dirs, "shop", &hints);
        assert_eq!(names["src/cartservice/src"], "cartservice");
        assert_eq!(names["src/frontend"], "frontend");
        assert_eq!(names["services/api/src"], "api");
        assert_eq!(names["deploy/docker"], "shop");
        assert_eq!(names["docker"], "migrator");
        assert_eq!(names["tools/docker"], "tools");
    }
}
