//! The compiled matcher: decides, for every file of a listing, which input groups it belongs to.
//!
//! An input group is one named list of globs: the shared inputs, one library, or one service's
//! own paths. Groups are compiled once per plan. This module owns glob semantics (see
//! [`crate::PlanSpec`]) and the membership computation; it must not know about fingerprints,
//! artifacts or pipelines.
//!
//! Why it is fast: matching every path against every service is O(services × files), 10⁸ glob
//! tests for 1,000 services and 100,000 files. Instead each pattern is split into a literal
//! directory prefix and a rest. A listing is sorted, so the files under a prefix are one
//! contiguous range found by binary search; `dir/**` and plain paths then need no glob test at
//! all, other patterns are tested only inside their range, and the few patterns with no prefix
//! (`**/*.md`) share one `GlobSet` pass over the listing.

use globset::{GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

use crate::diff::ChangedPath;
use crate::error::PlanError;
use crate::listing::{EntryMode, Oid, TreeListing};
use crate::spec::PlanSpec;

/// Which input group: shared inputs, a library, or a service's own paths.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKind {
    /// `inputs.shared`.
    Shared,
    /// A library's paths.
    Library(String),
    /// A service's own paths.
    Service(String),
}

/// One pattern, split for range-pruned matching.
#[derive(Debug, Clone)]
struct Pattern {
    /// Literal leading directories, ending in `/`, or empty.
    prefix: String,
    kind: PatternKind,
}

#[derive(Debug, Clone)]
enum PatternKind {
    /// `prefix**`: everything under the prefix.
    Subtree,
    /// No metacharacters: this file, or everything under this directory.
    Exact(String),
    /// `prefix**/*LITERAL` (`**/*.md`): every file under the prefix whose name ends with the
    /// literal, at any depth. Tested with `ends_with` instead of a glob engine, because these
    /// patterns usually have no prefix and so meet every file of the listing.
    NameSuffix(String),
    /// `prefix**/NAME` (`**/package.json`): every file under the prefix named exactly NAME.
    Name(String),
    /// Anything else, tested by globset within the prefix range.
    Glob(GlobMatcher, globset::Glob),
}

const META: &[char] = &['*', '?', '[', '{', '\\'];

impl Pattern {
    fn compile(raw: &str, owner: &str) -> Result<Pattern, PlanError> {
        let invalid = |reason: String| PlanError::InvalidGlob {
            pattern: raw.to_owned(),
            owner: owner.to_owned(),
            reason,
        };
        let mut p = raw.trim();
        while let Some(rest) = p.strip_prefix("./") {
            p = rest;
        }
        let p = p.trim_start_matches('/').trim_end_matches('/');
        if p.is_empty() {
            return Err(invalid("the pattern is empty".to_owned()));
        }
        let Some(first_meta) = p.find(META) else {
            return Ok(Pattern {
                prefix: format!("{p}/"),
                kind: PatternKind::Exact(p.to_owned()),
            });
        };
        let prefix = p[..first_meta]
            .rfind('/')
            .map_or("", |i| &p[..=i])
            .to_owned();
        let rest = &p[prefix.len()..];
        if rest == "**" {
            return Ok(Pattern {
                prefix,
                kind: PatternKind::Subtree,
            });
        }
        // `**/` matches any number of directories and a literal holds no `/`, so the literal
        // can only fall in the file name: an `ends_with` test is exactly the glob.
        let literal = |s: &str| !s.contains(META) && !s.contains('/');
        if let Some(name) = rest.strip_prefix("**/") {
            if let Some(suffix) = name.strip_prefix('*')
                && literal(suffix)
            {
                return Ok(Pattern {
                    prefix,
                    kind: PatternKind::NameSuffix(suffix.to_owned()),
                });
            }
            if literal(name) {
                return Ok(Pattern {
                    prefix,
                    kind: PatternKind::Name(format!("/{name}")),
                });
            }
        }
        let glob = GlobBuilder::new(p)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| invalid(e.kind().to_string()))?;
        Ok(Pattern {
            prefix,
            kind: PatternKind::Glob(glob.compile_matcher(), glob),
        })
    }

    fn is_match(&self, path: &str) -> bool {
        match &self.kind {
            PatternKind::Subtree => path.starts_with(&self.prefix),
            PatternKind::Exact(exact) => path == exact || path.starts_with(&self.prefix),
            PatternKind::NameSuffix(_) | PatternKind::Name(_) => {
                path.starts_with(&self.prefix) && self.name_matches(path)
            }
            PatternKind::Glob(m, _) => path.starts_with(&self.prefix) && m.is_match(path),
        }
    }

    /// For the name kinds, the test on a path already known to be under the prefix.
    fn name_matches(&self, path: &str) -> bool {
        match &self.kind {
            PatternKind::NameSuffix(suffix) => path.ends_with(suffix.as_str()),
            // Stored with a leading `/`; a file directly under an empty prefix has none.
            PatternKind::Name(slash_name) => {
                path.ends_with(slash_name.as_str())
                    || (self.prefix.is_empty() && path == &slash_name[1..])
            }
            _ => true,
        }
    }

    /// True for globs that must be tested against every path of a listing.
    fn is_unprefixed_glob(&self) -> bool {
        self.prefix.is_empty() && matches!(self.kind, PatternKind::Glob(..))
    }

    /// Calls `hit` with the index of every listing entry matched, except for unprefixed globs,
    /// which the shared [`GlobSet`] pass handles.
    fn for_each_match(&self, listing: &TreeListing, mut hit: impl FnMut(u32)) {
        let range = listing.prefix_range(&self.prefix);
        match &self.kind {
            PatternKind::Subtree => range.for_each(|i| hit(idx(i))),
            PatternKind::Exact(exact) => {
                if let Some(i) = listing.find(exact) {
                    hit(idx(i));
                }
                range.for_each(|i| hit(idx(i)));
            }
            PatternKind::NameSuffix(_) | PatternKind::Name(_) => {
                for i in range {
                    if self.name_matches(listing.path(i)) {
                        hit(idx(i));
                    }
                }
            }
            PatternKind::Glob(m, _) => {
                if self.prefix.is_empty() {
                    return;
                }
                for i in range {
                    if m.is_match(listing.path(i)) {
                        hit(idx(i));
                    }
                }
            }
        }
    }
}

fn idx(i: usize) -> u32 {
    u32::try_from(i).expect("tree listings hold fewer than 2^32 files")
}

#[derive(Debug, Clone)]
struct Group {
    kind: GroupKind,
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Ignore,
    Group(usize),
}

/// A [`PlanSpec`]'s globs compiled once: input groups, the ignore list and service wiring.
#[derive(Debug, Clone)]
pub struct CompiledSpec {
    groups: Vec<Group>,
    ignore: Vec<Pattern>,
    services: Vec<CompiledService>,
    unprefixed: Option<(GlobSet, Vec<Target>)>,
}

/// A service's place in the group table.
#[derive(Debug, Clone)]
pub(crate) struct CompiledService {
    pub(crate) name: String,
    pub(crate) intent_hash: String,
    /// Group index of the service's own paths.
    pub(crate) own: usize,
    /// Group indices of its libraries, sorted by library name.
    pub(crate) libraries: Vec<usize>,
    /// Group indices of its dependency services' own paths, sorted by service name.
    pub(crate) dependencies: Vec<usize>,
}

/// The shared inputs are always group 0.
pub(crate) const SHARED: usize = 0;

impl CompiledSpec {
    /// Compiles every glob of `spec` and resolves library and service references.
    pub fn new(spec: &PlanSpec) -> Result<CompiledSpec, PlanError> {
        let compile_all = |globs: &[String], owner: &str| {
            globs
                .iter()
                .map(|g| Pattern::compile(g, owner))
                .collect::<Result<Vec<_>, _>>()
        };
        let mut groups = vec![Group {
            kind: GroupKind::Shared,
            patterns: compile_all(&spec.shared, "inputs.shared")?,
        }];
        for (name, globs) in &spec.libraries {
            groups.push(Group {
                kind: GroupKind::Library(name.clone()),
                patterns: compile_all(globs, &format!("libraries.{name}.paths"))?,
            });
        }
        let first_service = groups.len();
        for (name, service) in &spec.services {
            groups.push(Group {
                kind: GroupKind::Service(name.clone()),
                patterns: compile_all(&service.paths, &format!("services.{name}.paths"))?,
            });
        }
        // The maps iterate in key order, so their keys can be binary-searched: a linear search
        // per reference is quadratic in a 1,000-service intent.
        let library_names: Vec<&str> = spec.libraries.keys().map(String::as_str).collect();
        let service_names: Vec<&str> = spec.services.keys().map(String::as_str).collect();
        let library_index = |name: &str| library_names.binary_search(&name).ok();
        let service_index = |name: &str| service_names.binary_search(&name).ok();
        let mut services = Vec::with_capacity(spec.services.len());
        for (i, (name, service)) in spec.services.iter().enumerate() {
            let mut libraries = Vec::with_capacity(service.libraries.len());
            for lib in sorted_unique(&service.libraries) {
                let li = library_index(lib).ok_or_else(|| PlanError::UnknownLibrary {
                    service: name.clone(),
                    library: lib.to_owned(),
                })?;
                libraries.push(1 + li);
            }
            let mut dependencies = Vec::with_capacity(service.services.len());
            for dep in sorted_unique(&service.services) {
                if dep == name {
                    continue;
                }
                let si = service_index(dep).ok_or_else(|| PlanError::UnknownDependency {
                    service: name.clone(),
                    dependency: dep.to_owned(),
                })?;
                dependencies.push(first_service + si);
            }
            services.push(CompiledService {
                name: name.clone(),
                intent_hash: service.intent_hash.clone(),
                own: first_service + i,
                libraries,
                dependencies,
            });
        }
        let ignore = compile_all(&spec.ignore, "inputs.ignore")?;

        let mut set = GlobSetBuilder::new();
        let mut targets = Vec::new();
        let tagged = ignore.iter().map(|p| (Target::Ignore, p)).chain(
            groups
                .iter()
                .enumerate()
                .flat_map(|(g, group)| group.patterns.iter().map(move |p| (Target::Group(g), p))),
        );
        for (target, pattern) in tagged {
            if let (true, PatternKind::Glob(_, glob)) =
                (pattern.is_unprefixed_glob(), &pattern.kind)
            {
                set.add(glob.clone());
                targets.push(target);
            }
        }
        let unprefixed = if targets.is_empty() {
            None
        } else {
            let set = set.build().map_err(|e| PlanError::InvalidGlob {
                pattern: e.glob().unwrap_or_default().to_owned(),
                owner: "the combined glob set".to_owned(),
                reason: e.kind().to_string(),
            })?;
            Some((set, targets))
        };
        Ok(CompiledSpec {
            groups,
            ignore,
            services,
            unprefixed,
        })
    }

    /// Number of input groups (shared + libraries + services).
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// What group `index` is.
    pub fn group_kind(&self, index: usize) -> &GroupKind {
        &self.groups[index].kind
    }

    /// The group index of library `name`.
    pub fn library_group(&self, name: &str) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| matches!(&g.kind, GroupKind::Library(n) if n == name))
    }

    /// The group index of service `name`'s own paths.
    pub fn service_group(&self, name: &str) -> Option<usize> {
        self.service(name).map(|s| s.own)
    }

    pub(crate) fn services(&self) -> &[CompiledService] {
        &self.services
    }

    pub(crate) fn service(&self, name: &str) -> Option<&CompiledService> {
        self.services
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.services[i])
    }

    /// True when an ignore glob matches `path`.
    pub fn is_ignored(&self, path: &str) -> bool {
        self.ignore.iter().any(|p| p.is_match(path))
    }

    /// True when `path` is an input of group `group` (ignore applied).
    pub fn group_matches(&self, group: usize, path: &str) -> bool {
        !self.is_ignored(path) && self.groups[group].patterns.iter().any(|p| p.is_match(path))
    }

    /// The groups `path` belongs to, ignore applied, in group order. One path at a time: used
    /// for the few changed files of `--explain`; bulk work goes through [`Self::members`].
    pub fn groups_of(&self, path: &str) -> Vec<usize> {
        if self.is_ignored(path) {
            return Vec::new();
        }
        (0..self.groups.len())
            .filter(|&g| self.groups[g].patterns.iter().any(|p| p.is_match(path)))
            .collect()
    }

    /// For every group, whether one of the changed files (on either side) is an input of it,
    /// ignore applied. The changed paths are matched as a small listing of their own, so the
    /// cost follows the number of changes, not the size of the tree.
    pub fn touched_groups(&self, changes: &[ChangedPath]) -> Vec<bool> {
        let paths: TreeListing = changes
            .iter()
            .map(|c| (c.path.as_str(), Oid([0; 20]), EntryMode::File))
            .collect();
        self.members(&paths).iter().map(|m| !m.is_empty()).collect()
    }

    /// For every group, the sorted indices of the listing entries that belong to it, ignore
    /// applied.
    pub fn members(&self, listing: &TreeListing) -> Vec<Vec<u32>> {
        let n = listing.len();
        let mut ignored = vec![false; n];
        for p in &self.ignore {
            p.for_each_match(listing, |i| ignored[i as usize] = true);
        }
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); self.groups.len()];
        // A group fed by more than one source may hold duplicates or be out of order.
        let mut needs_sort = vec![false; self.groups.len()];
        for (g, group) in self.groups.iter().enumerate() {
            for p in &group.patterns {
                if p.is_unprefixed_glob() {
                    continue;
                }
                if !members[g].is_empty() {
                    needs_sort[g] = true;
                }
                // Each pattern alone yields ascending indices: an exact file `x` sorts before
                // every `x/…` of its directory range.
                let out = &mut members[g];
                p.for_each_match(listing, |i| out.push(i));
            }
        }
        if let Some((set, targets)) = &self.unprefixed {
            let mut hits = Vec::new();
            for (i, ignored_i) in ignored.iter_mut().enumerate() {
                set.matches_into(listing.path(i), &mut hits);
                for &h in &hits {
                    match targets[h] {
                        Target::Ignore => *ignored_i = true,
                        Target::Group(g) => {
                            if members[g].last().is_some_and(|&last| last >= idx(i)) {
                                needs_sort[g] = true;
                            }
                            members[g].push(idx(i));
                        }
                    }
                }
            }
        }
        for (g, list) in members.iter_mut().enumerate() {
            if needs_sort[g] {
                list.sort_unstable();
                list.dedup();
            }
            list.retain(|&i| !ignored[i as usize]);
        }
        members
    }
}

fn sorted_unique(names: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = names.iter().map(String::as_str).collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::{EntryMode, Oid};
    use crate::spec::ServiceSpec;
    use proptest::prelude::*;

    fn check(pattern: &str, path: &str, expected: bool) {
        let p = Pattern::compile(pattern, "test").unwrap();
        assert_eq!(p.is_match(path), expected, "{pattern} vs {path}");
        // Every pattern with a metacharacter means what globset says it means, whatever
        // shortcut the matcher takes for it.
        if pattern.contains(META) && !pattern.starts_with(['.', '/']) {
            let glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .unwrap()
                .compile_matcher();
            assert_eq!(glob.is_match(path), expected, "globset {pattern} vs {path}");
        }
        let listing: TreeListing = [(path, Oid([0; 20]), EntryMode::File)]
            .into_iter()
            .collect();
        // The bulk path must agree with the per-path one.
        let spec = PlanSpec {
            shared: vec![pattern.to_owned()],
            ..PlanSpec::default()
        };
        let c = CompiledSpec::new(&spec).unwrap();
        assert_eq!(
            !c.members(&listing)[SHARED].is_empty(),
            expected,
            "bulk {pattern} vs {path}"
        );
    }

    #[test]
    fn glob_semantics() {
        for (pattern, path, expected) in [
            ("packages/ui/**", "packages/ui/a.ts", true),
            ("packages/ui/**", "packages/ui/src/deep/a.ts", true),
            ("packages/ui/**", "packages/ui-kit/a.ts", false),
            ("packages/ui/**", "packages/uia", false),
            ("pnpm-lock.yaml", "pnpm-lock.yaml", true),
            ("pnpm-lock.yaml", "sub/pnpm-lock.yaml", false),
            ("services/api", "services/api/main.go", true),
            ("services/api", "services/api", true),
            ("services/api", "services/api2/main.go", false),
            ("services/api/", "services/api/x", true),
            ("./tooling/**", "tooling/ci.sh", true),
            ("/tooling/**", "tooling/ci.sh", true),
            ("**/*.md", "README.md", true),
            ("**/*.md", "a/b/c.md", true),
            ("**/*.md", "a/b/c.mdx", false),
            ("**/*.md", ".md", true),
            ("**/*.md", "a.md/b", false),
            ("**/*", "a/b", true),
            ("**/*md", "a/md", true),
            ("**/package.json", "package.json", true),
            ("**/package.json", "a/b/package.json", true),
            ("**/package.json", "a/xpackage.json", false),
            ("**/package.json", "package.json/x", false),
            ("apps/**/*.ts", "apps/a/b.ts", true),
            ("apps/**/*.ts", "apps/b.ts", true),
            ("apps/**/*.ts", "apps.ts", false),
            ("apps/**/*.ts", "lib/apps/b.ts", false),
            ("apps/**/Dockerfile", "apps/Dockerfile", true),
            ("apps/**/Dockerfile", "apps/x/y/Dockerfile", true),
            ("apps/**/Dockerfile", "apps/xDockerfile", false),
            ("apps/**/Dockerfile", "Dockerfile", false),
            ("docs/**", "docs/x/y.png", true),
            ("*.lock", "Cargo.lock", true),
            ("*.lock", "sub/Cargo.lock", false),
            ("services/*/Dockerfile", "services/api/Dockerfile", true),
            ("services/*/Dockerfile", "services/api/x/Dockerfile", false),
            ("apps/{web,admin}/**", "apps/admin/x.ts", true),
            ("apps/{web,admin}/**", "apps/other/x.ts", false),
            ("apps/web/**/*.ts", "apps/web/a/b.ts", true),
            ("apps/web/**/*.ts", "apps/web/b.ts", true),
            ("apps/web/**/*.ts", "apps/web/b.js", false),
            ("a/b?.txt", "a/b1.txt", true),
            ("**", "anything/at/all", true),
        ] {
            check(pattern, path, expected);
        }
    }

    #[test]
    fn invalid_globs_name_the_owner() {
        let spec = PlanSpec {
            services: [(
                "api".to_owned(),
                ServiceSpec {
                    paths: vec!["services/[api".to_owned()],
                    ..ServiceSpec::default()
                },
            )]
            .into(),
            ..PlanSpec::default()
        };
        let err = CompiledSpec::new(&spec).unwrap_err().to_string();
        assert!(
            err.contains("`services/[api`") && err.contains("services.api.paths"),
            "{err}"
        );
        let spec = PlanSpec {
            ignore: vec!["./".to_owned()],
            ..PlanSpec::default()
        };
        assert!(
            CompiledSpec::new(&spec)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
    }

    #[test]
    fn unknown_references_are_errors() {
        let mut spec = PlanSpec::default();
        spec.services.insert(
            "api".to_owned(),
            ServiceSpec {
                libraries: vec!["nope".to_owned()],
                ..ServiceSpec::default()
            },
        );
        assert!(matches!(
            CompiledSpec::new(&spec),
            Err(PlanError::UnknownLibrary { .. })
        ));
        spec.services.get_mut("api").unwrap().libraries.clear();
        spec.services.get_mut("api").unwrap().services = vec!["ghost".to_owned()];
        assert!(matches!(
            CompiledSpec::new(&spec),
            Err(PlanError::UnknownDependency { .. })
        ));
    }

    const PATTERNS: &[&str] = &[
        "a/**",
        "a/b",
        "a",
        "b/*.md",
        "**/*.md",
        "*.lock",
        "a/{b,c}/**",
        "c/**/x",
        "b",
        "**/c/*",
        "b/c/d.lock",
        "**/*.lock",
        "**/x",
        "a/**/*.md",
        "a/**/x",
    ];
    const SEGMENTS: &[&str] = &["a", "b", "c", "x", "d.lock", "r.md", "a-b", "a.b"];

    proptest! {
        /// The range-pruned bulk membership must equal testing every path against every group.
        #[test]
        fn bulk_membership_equals_per_path(
            paths in proptest::collection::btree_set(
                proptest::collection::vec(proptest::sample::select(SEGMENTS), 1..4)
                    .prop_map(|s| s.join("/")),
                0..40),
            shared in proptest::collection::vec(proptest::sample::select(PATTERNS), 0..3),
            lib in proptest::collection::vec(proptest::sample::select(PATTERNS), 0..3),
            own in proptest::collection::vec(proptest::sample::select(PATTERNS), 0..3),
            ignore in proptest::collection::vec(proptest::sample::select(PATTERNS), 0..2),
        ) {
            let owned = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect::<Vec<_>>();
            let spec = PlanSpec {
                shared: owned(shared),
                ignore: owned(ignore),
                libraries: [("lib".to_owned(), owned(lib))].into(),
                services: [("svc".to_owned(), ServiceSpec { paths: owned(own), ..ServiceSpec::default() })].into(),
            };
            // Paths where one is a prefix directory of another cannot both be files in git.
            let files: Vec<&String> = paths.iter()
                .filter(|p| !paths.iter().any(|q| q.starts_with(&format!("{p}/"))))
                .collect();
            let listing: TreeListing = files.iter().map(|p| (p.as_str(), Oid([1; 20]), EntryMode::File)).collect();
            let c = CompiledSpec::new(&spec).unwrap();
            let bulk = c.members(&listing);
            for (g, got) in bulk.iter().enumerate() {
                let expected: Vec<u32> = (0..listing.len())
                    .filter(|&i| c.group_matches(g, listing.path(i)))
                    .map(idx)
                    .collect();
                prop_assert_eq!(got, &expected, "group {:?}", c.group_kind(g));
            }
        }
    }
}
