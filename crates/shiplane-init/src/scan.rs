//! The scanner: from a repository listing to a [`Proposal`] — services, libraries, shared
//! inputs, Helm charts — each with the evidence that suggested it.
//!
//! Pure given its [`FileSource`]: no clock, no environment, no writes; files are visited in
//! sorted order and everything collected lands in sorted containers, so the same tree always
//! yields the same proposal. It knows the build files of the ecosystems it recognises, but not
//! the intent's YAML syntax (that is `render`).
//!
//! The model: a *service* is a directory with a Dockerfile (or Containerfile), or an application
//! that clearly runs but has none yet (a `start` script, a Go `main` package, a Spring Boot
//! application). A *package* is a directory with a manifest (`package.json`, `Cargo.toml`,
//! `pyproject.toml`, `go.mod`, `pom.xml`, `build.gradle`); packages reference one another by name
//! or by local path. Every package a service reaches through those references, and that is not
//! itself a service, becomes a *library* the service `depends_on`.
//!
//! A Compose file, when there is one, is the strongest evidence: the Dockerfiles its services
//! build are deployables (whatever their names), and its build contexts, ports, health checks
//! and settings are taken over as written. Dockerfiles nothing builds — `api.Dockerfile`
//! variants, build-only images nested under a service — are noted, not proposed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use globset::GlobBuilder;
use serde_json::Value;

use crate::compose::{self, ComposeService, EnvGuess};
use crate::names::{assign_with_hints, dns_label_max};
use crate::parse;
use crate::source::{FileSource, RepoFiles, file_name, join, parent};

/// A value the scanner found, with where it found it (shown to the user as a comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected<T> {
    /// The value.
    pub value: T,
    /// Where it came from, in words, for example ``"`EXPOSE 3000` in apps/web/Dockerfile"``.
    pub source: String,
}

/// How CI builds a proposed service's image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedBuild {
    /// Build context directory, repository-relative (`.` for the root).
    pub context: String,
    /// Dockerfile path, repository-relative.
    pub dockerfile: String,
    /// Multi-stage build target (from Compose).
    pub target: Option<String>,
    /// Build arguments (from Compose), in file order; never secrets.
    pub args: Vec<(String, String)>,
}

/// A proposed environment variable of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposedEnv {
    /// A plain value.
    Literal(String),
    /// A credential: a reference to a key of a Kubernetes Secret that a person must create.
    Secret {
        /// The Secret's name.
        secret: String,
        /// The key within it.
        key: String,
    },
    /// Seen but not proposed, and why (rendered as a comment).
    Skipped(String),
}

/// A proposed readiness/liveness probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedHealth {
    /// HTTP path, starting with `/`.
    pub path: String,
    /// Probe port when it differs from the service port (Spring's `management.server.port`).
    pub port: Option<u16>,
}

/// A deployable the scanner found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedService {
    /// Service name, a unique DNS-1123 label.
    pub name: String,
    /// The directory it was found in (`""` for the repository root).
    pub dir: String,
    /// Globs of the service's own files.
    pub paths: Vec<String>,
    /// Libraries and services whose files also go into this service's image, sorted.
    pub depends_on: Vec<String>,
    /// How to build it; `None` when no Dockerfile was found (one must be written).
    pub build: Option<ProposedBuild>,
    /// The container port, when one is evident.
    pub port: Option<Detected<u16>>,
    /// The health probe, when one is evident.
    pub health: Option<Detected<ProposedHealth>>,
    /// Environment variables (from Compose), in file order.
    pub env: Vec<(String, ProposedEnv)>,
    /// The files that suggested this service, and any other facts worth showing.
    pub evidence: Vec<String>,
}

/// Shared code the scanner found: a package services depend on that is not deployed itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedLibrary {
    /// Library name, a unique DNS-1123 label.
    pub name: String,
    /// Its directory.
    pub dir: String,
    /// Globs of its files.
    pub paths: Vec<String>,
    /// The manifests that describe it.
    pub evidence: Vec<String>,
}

/// A Helm chart found in the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmChart {
    /// The chart directory (where `Chart.yaml` is).
    pub dir: String,
    /// The chart's `name`, when set.
    pub name: Option<String>,
}

/// Everything `shiplane init` proposes for a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// Project name, a DNS-1123 label.
    pub project: String,
    /// Root files whose change affects every service (lockfiles, workspace manifests) — only
    /// when the services are packages of that root workspace.
    pub shared_inputs: Vec<String>,
    /// Globs that never affect anything.
    pub ignore_inputs: Vec<String>,
    /// Libraries, sorted by name.
    pub libraries: Vec<ProposedLibrary>,
    /// Services, sorted by name.
    pub services: Vec<ProposedService>,
    /// Helm charts, sorted by directory.
    pub charts: Vec<HelmChart>,
    /// Things noticed but not proposed (Dockerfiles in test folders, unused packages).
    pub notes: Vec<String>,
}

/// Lockfiles and workspace files that, at the root, affect every service of their ecosystem's
/// root workspace (see `in_root_workspace`).
const ROOT_SHARED: [(&str, Ecosystem); 19] = [
    ("Cargo.lock", Ecosystem::Cargo),
    ("Pipfile.lock", Ecosystem::Python),
    ("bun.lock", Ecosystem::Npm),
    ("bun.lockb", Ecosystem::Npm),
    ("go.sum", Ecosystem::Go),
    ("go.work", Ecosystem::Go),
    ("go.work.sum", Ecosystem::Go),
    ("gradle.properties", Ecosystem::Gradle),
    ("npm-shrinkwrap.json", Ecosystem::Npm),
    ("package-lock.json", Ecosystem::Npm),
    ("pdm.lock", Ecosystem::Python),
    ("pnpm-lock.yaml", Ecosystem::Npm),
    ("pnpm-workspace.yaml", Ecosystem::Npm),
    ("poetry.lock", Ecosystem::Python),
    ("settings.gradle", Ecosystem::Gradle),
    ("settings.gradle.kts", Ecosystem::Gradle),
    ("uv.lock", Ecosystem::Python),
    ("yarn.lock", Ecosystem::Npm),
    (".yarnrc.yml", Ecosystem::Npm),
];

/// Directory names whose Dockerfiles are fixtures or samples, not deployables.
const NOT_DEPLOYED_DIRS: [&str; 9] = [
    "test",
    "tests",
    "testdata",
    "fixtures",
    "__tests__",
    "e2e",
    "examples",
    "example",
    "samples",
];

/// The ecosystem of a manifest; names only match within one ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ecosystem {
    Npm,
    Cargo,
    Python,
    Go,
    Maven,
    Gradle,
}

/// One manifest's facts.
#[derive(Debug, Clone)]
struct Package {
    dir: String,
    manifest: String,
    ecosystem: Ecosystem,
    /// The name other manifests of the ecosystem refer to it by.
    name: Option<String>,
    /// Names of the packages it depends on.
    dep_names: Vec<String>,
    /// Directories of local-path dependencies.
    dep_dirs: Vec<String>,
    /// Why it looks deployable without a Dockerfile.
    runnable: Option<String>,
    /// A manifest that only aggregates others (npm workspaces root, virtual Cargo workspace,
    /// Maven aggregator POM).
    aggregator: bool,
    /// Member of a Cargo workspace.
    cargo_member: bool,
    /// Spring Boot application, and whether it has the actuator.
    spring: Option<bool>,
    /// `package.json` scripts, and whether Next.js is a dependency.
    npm_scripts: Vec<(String, String)>,
    next_js: bool,
}

impl Package {
    fn new(dir: &str, manifest: &str, ecosystem: Ecosystem) -> Self {
        Self {
            dir: dir.to_owned(),
            manifest: manifest.to_owned(),
            ecosystem,
            name: None,
            dep_names: Vec::new(),
            dep_dirs: Vec::new(),
            runnable: None,
            aggregator: false,
            cargo_member: false,
            spring: None,
            npm_scripts: Vec::new(),
            next_js: false,
        }
    }
}

/// A directory with a Dockerfile.
#[derive(Debug, Clone)]
struct DockerUnit {
    dockerfile: String,
    others: Vec<String>,
    /// The Compose service that builds `dockerfile`, when one does.
    compose: Option<ComposeService>,
}

/// Scans the repository behind `files` and proposes an intent for it. `project_name` is made
/// into a DNS-1123 label (`app` when nothing usable is left).
pub fn propose(files: &dyn FileSource, project_name: &str) -> Proposal {
    let files = RepoFiles::new(files);
    let project = project_label(project_name);
    let mut notes = Vec::new();

    let composed = find_compose(&files, &mut notes);
    let docker = find_dockerfiles(&files, &composed, &mut notes);
    let mut packages = find_packages(&files);
    mark_cargo_members(&files, &mut packages);
    let graph = dependency_graph(&packages);

    // Services: every Dockerfile directory, then runnable packages nobody depends on.
    let mut service_dirs: BTreeSet<String> = docker.keys().cloned().collect();
    let depended: BTreeSet<&String> = graph.values().flatten().collect();
    for p in &packages {
        let covered = service_dirs
            .iter()
            .any(|d| d == &p.dir || is_within(&p.dir, d) || is_within(d, &p.dir));
        if p.runnable.is_some()
            && !p.aggregator
            && !p.cargo_member
            && !covered
            && !depended.contains(&p.dir)
            && glob_safe(&p.dir)
        {
            service_dirs.insert(p.dir.clone());
        }
    }

    // Dependencies of each service: everything reachable in the package graph.
    let mut service_deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut library_dirs: BTreeSet<String> = BTreeSet::new();
    for dir in &service_dirs {
        let mut deps = BTreeSet::new();
        for reached in reachable(&graph, dir) {
            if reached == *dir
                || reached.is_empty()
                || is_within(&reached, dir)
                || is_within(dir, &reached)
                || !glob_safe(&reached)
            {
                continue;
            }
            if !service_dirs.contains(&reached) {
                library_dirs.insert(reached.clone());
            }
            deps.insert(reached);
        }
        service_deps.insert(dir.clone(), deps);
    }
    for p in &packages {
        let inside_service = service_dirs
            .iter()
            .any(|d| d == &p.dir || is_within(&p.dir, d));
        let holds_service = service_dirs.iter().any(|d| is_within(d, &p.dir));
        if p.cargo_member
            && !inside_service
            && !holds_service
            && !p.dir.is_empty()
            && glob_safe(&p.dir)
        {
            library_dirs.insert(p.dir.clone());
        }
    }

    // Names for everything at once, so services and libraries never share one.
    let all_dirs: Vec<String> = service_dirs
        .iter()
        .chain(&library_dirs)
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // A Compose service's name is the best name for a Dockerfile in a folder that says nothing.
    let hints: BTreeMap<String, String> = docker
        .iter()
        .filter_map(|(dir, u)| Some((dir.clone(), u.compose.as_ref()?.name.clone())))
        .collect();
    let names = assign_with_hints(&all_dirs, &project, &hints);
    let name_of = |dir: &str| names.get(dir).cloned().unwrap_or_default();

    let mut services = Vec::new();
    for dir in &service_dirs {
        let manifests: Vec<&Package> = packages.iter().filter(|p| &p.dir == dir).collect();
        let mut evidence = Vec::new();
        let (build, paths, facts) = if let Some(unit) = docker.get(dir) {
            evidence.push(unit.dockerfile.clone());
            let facts = files
                .read(&unit.dockerfile)
                .map(|t| parse::dockerfile(&t))
                .unwrap_or_default();
            let compose_build = unit.compose.as_ref().and_then(|c| c.build.as_ref());
            // Compose says what the context is; without it, the Dockerfile's COPYs suggest one.
            let (context, paths) = match compose_build {
                Some(b) => (
                    b.context.clone(),
                    context_paths(&files, dir, &b.context, &clean_sources(&facts.copy_sources)),
                ),
                None => infer_context(&files, dir, &facts.copy_sources),
            };
            if let Some(c) = &unit.compose {
                evidence.push(format!("Compose service `{}` in {}", c.name, c.file));
            }
            if let Some(b) = compose_build.filter(|b| !b.withheld_args.is_empty()) {
                evidence.push(format!(
                    "build args not proposed (credentials or set from the shell): {}",
                    b.withheld_args.join(", ")
                ));
            }
            if !unit.others.is_empty() {
                evidence.push(format!("also {} (not used)", unit.others.join(", ")));
            }
            let build = ProposedBuild {
                context: if context.is_empty() {
                    ".".to_owned()
                } else {
                    context
                },
                dockerfile: unit.dockerfile.clone(),
                target: compose_build.and_then(|b| b.target.clone()),
                args: compose_build.map(|b| b.args.clone()).unwrap_or_default(),
            };
            (Some(build), paths, Some(facts))
        } else {
            (None, vec![dir_glob(dir)], None)
        };
        for p in &manifests {
            evidence.push(match (&p.runnable, &build) {
                (Some(why), None) => format!("{} ({why})", p.manifest),
                _ => p.manifest.clone(),
            });
        }
        let port = detect_port(&files, dir, facts.as_ref(), &manifests, docker.get(dir));
        let mut health = detect_health(&files, dir, facts.as_ref(), &manifests, docker.get(dir));
        // A health check on another port than the service's is probed there.
        if let (Some(h), Some(p)) = (&mut health, &port)
            && h.value.port == Some(p.value)
        {
            h.value.port = None;
        }
        let name = name_of(dir);
        let env = docker
            .get(dir)
            .and_then(|u| u.compose.as_ref())
            .map(|c| proposed_env(c, &name))
            .unwrap_or_default();
        let depends_on: BTreeSet<String> = service_deps
            .get(dir)
            .into_iter()
            .flatten()
            .map(|d| name_of(d))
            .collect();
        services.push(ProposedService {
            name,
            dir: dir.clone(),
            paths,
            depends_on: depends_on.into_iter().collect(),
            build,
            port,
            health,
            env,
            evidence,
        });
    }
    services.sort_by(|a, b| a.name.cmp(&b.name));

    let mut libraries: Vec<ProposedLibrary> = library_dirs
        .iter()
        .map(|dir| {
            let evidence = packages
                .iter()
                .filter(|p| &p.dir == dir)
                .map(|p| match &p.name {
                    Some(n) if p.ecosystem != Ecosystem::Gradle => format!("{} ({n})", p.manifest),
                    _ => p.manifest.clone(),
                })
                .collect();
            ProposedLibrary {
                name: name_of(dir),
                dir: dir.clone(),
                paths: vec![dir_glob(dir)],
                evidence,
            }
        })
        .collect();
    libraries.sort_by(|a, b| a.name.cmp(&b.name));

    // Packages nothing uses are worth a line, so a reader knows they were seen.
    let mut unused: BTreeSet<String> = BTreeSet::new();
    for p in &packages {
        let used = service_dirs
            .iter()
            .chain(&library_dirs)
            .any(|d| d == &p.dir || is_within(&p.dir, d) || is_within(d, &p.dir));
        if !used && !p.aggregator {
            unused.insert(p.manifest.clone());
        }
    }
    for manifest in unused {
        notes.push(format!(
            "{manifest}: no Dockerfile, and no service depends on it"
        ));
    }

    let charts = files
        .paths()
        .iter()
        .filter(|p| file_name(p) == "Chart.yaml")
        .map(|p| {
            let name = files
                .read(p)
                .and_then(|t| parse::yaml_get(&parse::yaml_entries(&t), "name").map(str::to_owned))
                .filter(|n| !n.is_empty());
            HelmChart {
                dir: parent(p).to_owned(),
                name,
            }
        })
        .collect();

    let shared_inputs = shared_inputs(&files, &packages, &service_dirs, &library_dirs);
    let docs_deployed = service_dirs
        .iter()
        .chain(&library_dirs)
        .any(|d| d == "docs" || d.starts_with("docs/"));
    let mut ignore_inputs = vec!["**/*.md".to_owned()];
    if !docs_deployed {
        ignore_inputs.push("docs/**".to_owned());
    }

    Proposal {
        project,
        shared_inputs,
        ignore_inputs,
        libraries,
        services,
        charts,
        notes,
    }
}

/// True when `path` is strictly inside directory `dir` (`""` holds everything but itself).
fn is_within(path: &str, dir: &str) -> bool {
    if dir.is_empty() {
        return !path.is_empty();
    }
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

/// The glob of everything under `dir`.
fn dir_glob(dir: &str) -> String {
    if dir.is_empty() {
        "**".to_owned()
    } else {
        format!("{dir}/**")
    }
}

/// True when a directory path can be written into a glob literally (no glob syntax in it).
fn glob_safe(dir: &str) -> bool {
    !dir.contains(['*', '?', '[', ']', '{', '}', '\\', '!']) && !dir.chars().any(char::is_control)
}

/// How a Dockerfile file name ranks within its directory, lower preferred; `None` when the
/// name is not a Dockerfile.
fn dockerfile_rank(name: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    if name == "Dockerfile" {
        return Some(0);
    }
    if name == "Containerfile" {
        return Some(1);
    }
    let variant = lower
        .strip_prefix("dockerfile.")
        .or_else(|| lower.strip_prefix("containerfile."))
        .or_else(|| lower.strip_suffix(".dockerfile"))
        .or_else(|| lower.strip_suffix(".containerfile"))?;
    let dev = ["dev", "development", "local", "test", "debug", "ci"].contains(&variant);
    Some(if dev { 3 } else { 2 })
}

/// The services of every Compose file, keyed by the Dockerfile each builds (the first service,
/// in path and name order, when several build the same one). Everything else a Compose file
/// says that is not proposed becomes a note.
fn find_compose(
    files: &RepoFiles<'_>,
    notes: &mut Vec<String>,
) -> BTreeMap<String, ComposeService> {
    let mut out: BTreeMap<String, ComposeService> = BTreeMap::new();
    for path in files.paths() {
        if !compose::COMPOSE_FILE_NAMES.contains(&file_name(path))
            || in_not_deployed_dir(parent(path))
        {
            continue;
        }
        let services = match compose::read(files, path) {
            Ok(s) => s,
            Err(why) => {
                notes.push(format!("{path}: {why}; not read"));
                continue;
            }
        };
        for svc in services {
            let Some(build) = &svc.build else {
                notes.push(match &svc.image {
                    Some(image) => format!(
                        "{path}: `{}` runs the image {image}; it is not built here, so not proposed",
                        svc.name
                    ),
                    None => format!("{path}: `{}` has no build this scan can follow", svc.name),
                });
                continue;
            };
            if !files.is_file(&build.dockerfile) {
                notes.push(format!(
                    "{path}: `{}` builds {}, which is not in the scanned files; add it by hand",
                    svc.name, build.dockerfile
                ));
                continue;
            }
            if let Some(first) = out.get(&build.dockerfile) {
                notes.push(format!(
                    "{path}: `{}` builds the same Dockerfile as `{}`; if it is another image (another target), add it by hand",
                    svc.name, first.name
                ));
                continue;
            }
            out.insert(build.dockerfile.clone(), svc);
        }
    }
    out
}

/// True when a directory is (inside) a test, fixture or example folder.
fn in_not_deployed_dir(dir: &str) -> bool {
    dir.split('/').any(|seg| NOT_DEPLOYED_DIRS.contains(&seg))
}

/// Directories with a Dockerfile, each with the one to build and the others.
///
/// Only a plain `Dockerfile` or `Containerfile`, or a file a Compose service builds, makes a
/// directory a deployable: `api.Dockerfile` and `Dockerfile.prod` that nothing references are
/// often stale or for local use. A Dockerfile nested under a (non-root) directory that has its
/// own is a build-only image of that service (a migration job, a test runner), unless Compose
/// builds it.
fn find_dockerfiles(
    files: &RepoFiles<'_>,
    composed: &BTreeMap<String, ComposeService>,
    notes: &mut Vec<String>,
) -> BTreeMap<String, DockerUnit> {
    let mut by_dir: BTreeMap<String, Vec<(u8, String)>> = BTreeMap::new();
    for path in files.paths() {
        let Some(rank) = dockerfile_rank(file_name(path)) else {
            continue;
        };
        let referenced = composed.contains_key(path);
        let dir = parent(path);
        if in_not_deployed_dir(dir) && !referenced {
            notes.push(format!(
                "{path}: in a test or example folder, not proposed as a service"
            ));
            continue;
        }
        if !glob_safe(dir) {
            notes.push(format!(
                "{path}: the folder name has glob characters; add this service by hand"
            ));
            continue;
        }
        // What Compose builds is preferred within its directory; then the usual ranking.
        let rank = if referenced { 0 } else { rank + 1 };
        by_dir
            .entry(dir.to_owned())
            .or_default()
            .push((rank, path.clone()));
    }
    let mut units: BTreeMap<String, DockerUnit> = BTreeMap::new();
    for (dir, mut found) in by_dir {
        found.sort();
        let (rank, dockerfile) = found[0].clone();
        // Ranks after the shift: 0 Compose, 1 Dockerfile, 2 Containerfile, 3+ variants.
        if rank >= 3 {
            for (_, path) in found {
                notes.push(format!(
                    "{path}: not a standard Dockerfile name and no Compose file builds it; not proposed"
                ));
            }
            continue;
        }
        let mut others = Vec::new();
        for (rank, path) in &found[1..] {
            if *rank == 0 {
                notes.push(format!(
                    "{path}: built by Compose, but {dockerfile} in the same folder is proposed; add it by hand"
                ));
            } else {
                others.push(path.clone());
            }
        }
        let compose = composed.get(&dockerfile).cloned();
        units.insert(
            dir,
            DockerUnit {
                dockerfile,
                others,
                compose,
            },
        );
    }
    let dirs: Vec<String> = units.keys().cloned().collect();
    units.retain(|dir, unit| {
        let outer = dirs
            .iter()
            .find(|o| !o.is_empty() && is_within(dir, o));
        match outer {
            Some(outer) if unit.compose.is_none() => {
                notes.push(format!(
                    "{}: inside {outer}, which has its own Dockerfile; a build-only image, not proposed",
                    unit.dockerfile
                ));
                false
            }
            _ => true,
        }
    });
    units
}

/// A Compose service's environment as proposals; secrets become references to a Secret named
/// after the service, which a person creates (the intent never holds the value).
fn proposed_env(c: &ComposeService, service: &str) -> Vec<(String, ProposedEnv)> {
    c.env
        .iter()
        .map(|(k, guess)| {
            let env = match guess {
                EnvGuess::Literal(v) => ProposedEnv::Literal(v.clone()),
                EnvGuess::Secret => ProposedEnv::Secret {
                    secret: service.to_owned(),
                    key: k.clone(),
                },
                EnvGuess::Skipped(why) => ProposedEnv::Skipped(why.clone()),
            };
            (k.clone(), env)
        })
        .collect()
}

/// Python distribution names compare case- and separator-insensitively (PEP 503).
fn python_name(name: &str) -> String {
    name.trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c == '_' || c == '.' { '-' } else { c })
        .collect()
}

/// The distribution name at the start of a PEP 508 requirement (`fastapi[all]>=0.1; …`).
fn requirement_name(req: &str) -> Option<String> {
    let end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .unwrap_or(req.len());
    let name = &req[..end];
    (!name.is_empty()).then(|| python_name(name))
}

/// Reads every manifest in the repository.
fn find_packages(files: &RepoFiles<'_>) -> Vec<Package> {
    let mut out = Vec::new();
    for path in files.paths() {
        let dir = parent(path);
        let name = file_name(path);
        let package = match name {
            "package.json" => files
                .read(path)
                .and_then(|t| npm_package(files, dir, path, &t)),
            "Cargo.toml" => files.read(path).map(|t| cargo_package(dir, path, &t)),
            "pyproject.toml" => files
                .read(path)
                .map(|t| python_package(files, dir, path, &t)),
            "go.mod" => files.read(path).map(|t| go_package(files, dir, path, &t)),
            "pom.xml" => files.read(path).map(|t| maven_package(dir, path, &t)),
            "build.gradle" | "build.gradle.kts" => {
                files.read(path).map(|t| gradle_package(dir, path, &t))
            }
            "requirements.txt"
                if !files.is_file(&join(dir, "pyproject.toml").unwrap_or_default()) =>
            {
                files.read(path).map(|t| {
                    let mut p = Package::new(dir, path, Ecosystem::Python);
                    p.dep_dirs = requirement_dirs(dir, &t);
                    p
                })
            }
            _ => None,
        };
        out.extend(package);
    }
    out
}

fn npm_package(files: &RepoFiles<'_>, dir: &str, path: &str, text: &str) -> Option<Package> {
    let json: Value = serde_json::from_str(text).ok()?;
    let mut p = Package::new(dir, path, Ecosystem::Npm);
    p.name = json.get("name").and_then(Value::as_str).map(str::to_owned);
    for field in [
        "dependencies",
        "devDependencies",
        "peerDependencies",
        "optionalDependencies",
    ] {
        // Development dependencies count too: bundlers compile them into the image's output.
        let Some(deps) = json.get(field).and_then(Value::as_object) else {
            continue;
        };
        for (name, spec) in deps {
            p.dep_names.push(name.clone());
            let spec = spec.as_str().unwrap_or("");
            if let Some(rel) = spec
                .strip_prefix("file:")
                .or_else(|| spec.strip_prefix("link:"))
                && let Some(d) = join(dir, rel)
            {
                p.dep_dirs.push(d);
            }
        }
        if deps.contains_key("next") {
            p.next_js = true;
        }
    }
    if let Some(scripts) = json.get("scripts").and_then(Value::as_object) {
        p.npm_scripts = scripts
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect();
        if scripts.contains_key("start") {
            p.runnable = Some("has a `start` script".to_owned());
        }
    }
    let has_workspaces = json.get("workspaces").is_some_and(|w| !w.is_null());
    p.aggregator =
        has_workspaces || files.is_file(&join(dir, "pnpm-workspace.yaml").unwrap_or_default());
    Some(p)
}

fn cargo_package(dir: &str, path: &str, text: &str) -> Package {
    let mut p = Package::new(dir, path, Ecosystem::Cargo);
    let entries = parse::toml_entries(text);
    let mut has_package = false;
    let mut has_workspace = false;
    for e in &entries {
        if e.table == "package" {
            has_package = true;
            if e.key == "name" {
                p.name = parse::first_string(&e.value);
            }
        }
        if e.table == "workspace" || e.table.starts_with("workspace.") {
            has_workspace = true;
        }
        // Development dependencies are left out: they never reach a release image.
        let dep_table = e.table == "dependencies"
            || e.table == "build-dependencies"
            || (e.table.starts_with("target.")
                && (e.table.ends_with(".dependencies")
                    || e.table.ends_with(".build-dependencies")));
        let sub_table = e
            .table
            .strip_prefix("dependencies.")
            .or_else(|| e.table.strip_prefix("build-dependencies."));
        if dep_table {
            let key = e.key.split('.').next().unwrap_or("").to_owned();
            let renamed = parse::inline_table_string(&e.value, "package");
            p.dep_names.push(renamed.unwrap_or(key));
            if let Some(rel) = parse::inline_table_string(&e.value, "path")
                && let Some(d) = join(dir, &rel)
            {
                p.dep_dirs.push(d);
            }
        } else if let Some(dep) = sub_table {
            match e.key.as_str() {
                "package" => {
                    if let Some(n) = parse::first_string(&e.value) {
                        p.dep_names.push(n);
                    }
                }
                "path" => {
                    if let Some(d) = parse::first_string(&e.value).and_then(|r| join(dir, &r)) {
                        p.dep_dirs.push(d);
                    }
                }
                _ => p.dep_names.push(dep.to_owned()),
            }
        }
    }
    p.aggregator = has_workspace && !has_package;
    p
}

fn python_package(files: &RepoFiles<'_>, dir: &str, path: &str, text: &str) -> Package {
    let mut p = Package::new(dir, path, Ecosystem::Python);
    for e in parse::toml_entries(text) {
        match (e.table.as_str(), e.key.as_str()) {
            ("project" | "tool.poetry", "name") if p.name.is_none() => {
                p.name = parse::first_string(&e.value).map(|n| python_name(&n));
            }
            ("project", "dependencies") => {
                p.dep_names.extend(
                    parse::quoted_strings(&e.value)
                        .iter()
                        .filter_map(|r| requirement_name(r)),
                );
            }
            (t, key)
                if t == "tool.poetry.dependencies"
                    || (t.starts_with("tool.poetry.group.") && t.ends_with(".dependencies")) =>
            {
                if key != "python" {
                    p.dep_names.push(python_name(key));
                }
                if let Some(d) =
                    parse::inline_table_string(&e.value, "path").and_then(|r| join(dir, &r))
                {
                    p.dep_dirs.push(d);
                }
            }
            ("tool.uv.sources", key) => {
                p.dep_names.push(python_name(key));
                if let Some(d) =
                    parse::inline_table_string(&e.value, "path").and_then(|r| join(dir, &r))
                {
                    p.dep_dirs.push(d);
                }
            }
            ("tool.uv.workspace", "members") => p.aggregator = true,
            _ => {}
        }
    }
    if p.aggregator && text.contains("[project]") {
        p.aggregator = false; // a workspace root that is also a package
    }
    if let Some(req) = join(dir, "requirements.txt").and_then(|r| files.read(&r)) {
        p.dep_dirs.extend(requirement_dirs(dir, &req));
    }
    p
}

/// Local directories in a requirements file (`-e ../libs/common`, `./x`, `file:../y`).
fn requirement_dirs(dir: &str, text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.split(" #").next().unwrap_or("").trim();
            let line = line.strip_prefix("-e").map_or(line, str::trim);
            let line = line.strip_prefix("file:").unwrap_or(line);
            (line.starts_with("./") || line.starts_with("../")).then(|| join(dir, line))?
        })
        .collect()
}

fn go_package(files: &RepoFiles<'_>, dir: &str, path: &str, text: &str) -> Package {
    let mut p = Package::new(dir, path, Ecosystem::Go);
    let g = parse::go_mod(text);
    p.name = g.module;
    p.dep_names = g.requires;
    p.dep_dirs = g
        .local_replaces
        .iter()
        .filter_map(|r| join(dir, r))
        .collect();
    let main = join(dir, "main.go").unwrap_or_default();
    if files
        .read(&main)
        .is_some_and(|t| t.lines().any(|l| l.trim() == "package main"))
    {
        p.runnable = Some("a `main` package".to_owned());
    }
    p
}

fn maven_package(dir: &str, path: &str, text: &str) -> Package {
    let mut p = Package::new(dir, path, Ecosystem::Maven);
    let pom = parse::xml_strip_comments(text);
    let own = parse::xml_without(&parse::xml_without(&pom, "parent"), "dependencyManagement");
    let own_head = parse::xml_without(
        &parse::xml_without(&parse::xml_without(&own, "dependencies"), "build"),
        "profiles",
    );
    p.name = parse::xml_first(&own_head, "artifactId");
    let packaging = parse::xml_first(&own_head, "packaging").unwrap_or_else(|| "jar".to_owned());
    for deps in parse::xml_blocks(&parse::xml_without(&own, "build"), "dependencies") {
        for dep in parse::xml_blocks(deps, "dependency") {
            if let Some(a) = parse::xml_first(dep, "artifactId") {
                p.dep_names.push(a);
            }
        }
    }
    p.aggregator = packaging == "pom";
    if pom.contains("spring-boot") && !p.aggregator {
        p.spring = Some(pom.contains("spring-boot-starter-actuator"));
        if pom.contains("spring-boot-maven-plugin") {
            p.runnable = Some("a Spring Boot application".to_owned());
        }
    }
    p
}

fn gradle_package(dir: &str, path: &str, text: &str) -> Package {
    let mut p = Package::new(dir, path, Ecosystem::Gradle);
    p.name = Some(file_name(dir).to_owned()).filter(|n| !n.is_empty());
    let mut rest = text;
    while let Some(i) = rest.find("project(") {
        let after = &rest[i + "project(".len()..];
        if let Some(s) = parse::first_string(after.split(')').next().unwrap_or(""))
            && let Some(last) = s.rsplit(':').next()
            && !last.is_empty()
        {
            p.dep_names.push(last.to_owned());
        }
        rest = after;
    }
    if text.contains("org.springframework.boot") {
        p.spring = Some(text.contains("spring-boot-starter-actuator"));
        p.runnable = Some("a Spring Boot application".to_owned());
    }
    p
}

/// Marks the members of every Cargo workspace.
fn mark_cargo_members(files: &RepoFiles<'_>, packages: &mut [Package]) {
    let mut member_dirs = BTreeSet::new();
    for ws in packages.iter().filter(|p| p.ecosystem == Ecosystem::Cargo) {
        let Some(text) = files.read(&ws.manifest) else {
            continue;
        };
        let entries = parse::toml_entries(&text);
        let list = |key: &str| {
            entries
                .iter()
                .filter(|e| e.table == "workspace" && e.key == key)
                .flat_map(|e| parse::quoted_strings(&e.value))
                .filter_map(|m| join(&ws.dir, &m))
                .filter_map(|m| GlobBuilder::new(&m).literal_separator(true).build().ok())
                .map(|g| g.compile_matcher())
                .collect::<Vec<_>>()
        };
        let members = list("members");
        let excluded = list("exclude");
        for p in packages
            .iter()
            .filter(|p| p.ecosystem == Ecosystem::Cargo && p.dir != ws.dir)
        {
            if members.iter().any(|m| m.is_match(&p.dir))
                && !excluded.iter().any(|m| m.is_match(&p.dir))
            {
                member_dirs.insert(p.dir.clone());
            }
        }
    }
    for p in packages
        .iter_mut()
        .filter(|p| p.ecosystem == Ecosystem::Cargo)
    {
        p.cargo_member = member_dirs.contains(&p.dir);
    }
}

/// Directory → directories it depends on, through names (within an ecosystem) and local paths.
fn dependency_graph(packages: &[Package]) -> BTreeMap<String, BTreeSet<String>> {
    let mut by_name: BTreeMap<(Ecosystem, &str), Vec<&str>> = BTreeMap::new();
    for p in packages {
        if let Some(name) = &p.name {
            by_name
                .entry((p.ecosystem, name.as_str()))
                .or_default()
                .push(&p.dir);
        }
    }
    let dirs_with_package: BTreeSet<&str> = packages.iter().map(|p| p.dir.as_str()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in packages {
        let edges = graph.entry(p.dir.clone()).or_default();
        for name in &p.dep_names {
            for dir in by_name
                .get(&(p.ecosystem, name.as_str()))
                .into_iter()
                .flatten()
            {
                if *dir != p.dir {
                    edges.insert((*dir).to_owned());
                }
            }
        }
        for dir in &p.dep_dirs {
            if dir != &p.dir && dirs_with_package.contains(dir.as_str()) {
                edges.insert(dir.clone());
            }
        }
    }
    graph
}

/// Every directory reachable from `start` (excluding `start`), breadth first.
fn reachable(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<&str> = VecDeque::from([start]);
    while let Some(dir) = queue.pop_front() {
        for next in graph.get(dir).into_iter().flatten() {
            if next != start && seen.insert(next.clone()) {
                queue.push_back(next);
            }
        }
    }
    seen
}

/// Parent directories of `dir`, nearest first, ending with the root.
fn ancestors(dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut d = dir;
    while !d.is_empty() {
        d = parent(d);
        out.push(d.to_owned());
    }
    out
}

/// True when a `COPY` source (relative to `base`) names something in the repository.
fn source_exists(files: &RepoFiles<'_>, base: &str, source: &str) -> bool {
    if source == "." {
        return true;
    }
    let Some(path) = join(base, source) else {
        return false;
    };
    if !source.contains(['*', '?', '[']) {
        return files.exists(&path);
    }
    let Ok(glob) = GlobBuilder::new(&path).literal_separator(true).build() else {
        return false;
    };
    let m = glob.compile_matcher();
    files
        .paths()
        .iter()
        .any(|f| m.is_match(f) || ancestors(f).iter().any(|a| !a.is_empty() && m.is_match(a)))
}

/// `COPY`/`ADD` sources in the form the context search compares: no `./` prefix, no trailing
/// `/`, `.` for the whole context. A leading `/` is dropped too: Docker resolves `COPY /x`
/// (and `COPY ["/x", …]`) inside the build context, never from the host's root.
fn clean_sources(copy_sources: &[String]) -> Vec<String> {
    copy_sources
        .iter()
        .map(|s| {
            let s = s
                .trim_start_matches('/')
                .trim_start_matches("./")
                .trim_end_matches('/');
            if s.is_empty() || s == "." {
                ".".to_owned()
            } else {
                s.to_owned()
            }
        })
        .collect()
}

/// The build context of the Dockerfile in `dir` and the service's paths.
///
/// A Dockerfile usually builds with its own directory as context. When it copies files that are
/// not there but are in a parent directory (`COPY go.mod go.sum ./` next to `cmd/api/Dockerfile`),
/// the nearest such parent is the context, and the service's paths are what it copies — so a
/// change to `internal/` still counts as a change to the service.
fn infer_context(
    files: &RepoFiles<'_>,
    dir: &str,
    copy_sources: &[String],
) -> (String, Vec<String>) {
    let sources = clean_sources(copy_sources);
    let mut bases = vec![dir.to_owned()];
    bases.extend(ancestors(dir));
    // Sources found under no candidate are build outputs or typos: they decide nothing.
    let meaningful: Vec<String> = sources
        .into_iter()
        .filter(|s| bases.iter().any(|b| source_exists(files, b, s)))
        .collect();
    let Some(context) = bases
        .iter()
        .find(|b| meaningful.iter().all(|s| source_exists(files, b, s)))
    else {
        return (dir.to_owned(), vec![dir_glob(dir)]);
    };
    let paths = context_paths(files, dir, context, &meaningful);
    (context.clone(), paths)
}

/// The paths of a service whose Dockerfile is in `dir` and builds from `context`: the
/// Dockerfile's directory plus what it copies, or the whole context when it copies `.`.
fn context_paths(
    files: &RepoFiles<'_>,
    dir: &str,
    context: &str,
    sources: &[String],
) -> Vec<String> {
    let whole_context = vec![dir_glob(context)];
    if context == dir {
        return whole_context;
    }
    let holds_dir = is_within(dir, context);
    let mut paths = BTreeSet::from([dir_glob(dir)]);
    for s in sources.iter().filter(|s| source_exists(files, context, s)) {
        if s == "." {
            if holds_dir {
                return whole_context;
            }
            paths.insert(dir_glob(context));
            continue;
        }
        let Some(path) = join(context, s) else {
            continue;
        };
        if path == dir || is_within(&path, dir) {
            continue; // already in the Dockerfile directory's glob
        }
        let glob = if files.is_file(&path) || s.contains(['*', '?', '[']) {
            path
        } else {
            dir_glob(&path)
        };
        if GlobBuilder::new(&glob).build().is_err()
            || (!s.contains(['*', '?', '[']) && !glob_safe(&glob.replace("**", "")))
        {
            return whole_context;
        }
        paths.insert(glob);
    }
    paths.into_iter().collect()
}

/// Spring configuration of the service in `dir`: `(key, value)` pairs from
/// `src/main/resources/application.{properties,yml,yaml}`, and the file each came from.
fn spring_config(files: &RepoFiles<'_>, dir: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for name in [
        "application.properties",
        "application.yml",
        "application.yaml",
    ] {
        let Some(path) = join(dir, &format!("src/main/resources/{name}")) else {
            continue;
        };
        let Some(text) = files.read(&path) else {
            continue;
        };
        if name.ends_with(".properties") {
            out.extend(
                parse::properties(&text)
                    .into_iter()
                    .map(|(k, v)| (k, v, path.clone())),
            );
        } else {
            out.extend(
                parse::yaml_entries(&text)
                    .into_iter()
                    .filter(|e| !e.item)
                    .map(|e| (e.path, e.value, path.clone())),
            );
        }
    }
    out
}

fn spring_get<'c>(config: &'c [(String, String, String)], key: &str) -> Option<(&'c str, &'c str)> {
    config
        .iter()
        .find(|(k, _, _)| k == key)
        .map(|(_, v, f)| (v.as_str(), f.as_str()))
}

/// The container port of a service, from the most direct evidence available.
fn detect_port(
    files: &RepoFiles<'_>,
    dir: &str,
    facts: Option<&parse::DockerfileFacts>,
    manifests: &[&Package],
    unit: Option<&DockerUnit>,
) -> Option<Detected<u16>> {
    // How Compose runs the container is more direct than what the image declares.
    let compose = unit.and_then(|u| u.compose.as_ref());
    if let Some(c) = compose
        && let Some(p) = c.port
    {
        return Some(Detected {
            value: p,
            source: format!("`ports` of `{}` in {}", c.name, c.file),
        });
    }
    if let (Some(f), Some(unit)) = (facts, unit) {
        let df = &unit.dockerfile;
        if let Some(p) = f.expose.first() {
            return Some(Detected {
                value: *p,
                source: format!("`EXPOSE {p}` in {df}"),
            });
        }
        if let Some(p) = f.env_port {
            return Some(Detected {
                value: p,
                source: format!("`PORT={p}` in {df}"),
            });
        }
        if let Some(p) = f.cmd_port {
            return Some(Detected {
                value: p,
                source: format!("the command in {df}"),
            });
        }
    }
    if let Some(c) = compose
        && let Some((_, Some(p))) = &c.health
    {
        return Some(Detected {
            value: *p,
            source: format!("the health check of `{}` in {}", c.name, c.file),
        });
    }
    if manifests.iter().any(|p| p.spring.is_some()) {
        let config = spring_config(files, dir);
        if let Some((v, file)) = spring_get(&config, "server.port")
            && let Some(p) = parse::spring_port(v)
        {
            return Some(Detected {
                value: p,
                source: format!("`server.port` in {file}"),
            });
        }
        return Some(Detected {
            value: 8080,
            source: "Spring Boot's default port".to_owned(),
        });
    }
    for p in manifests.iter().filter(|p| p.ecosystem == Ecosystem::Npm) {
        for script in ["start", "serve", "preview", "dev"] {
            let Some((_, cmd)) = p.npm_scripts.iter().find(|(k, _)| k == script) else {
                continue;
            };
            if let Some(port) = parse::port_from_command(cmd) {
                return Some(Detected {
                    value: port,
                    source: format!("the `{script}` script in {}", p.manifest),
                });
            }
        }
        if p.next_js {
            return Some(Detected {
                value: 3000,
                source: format!("Next.js's default port ({})", p.manifest),
            });
        }
    }
    None
}

/// The health probe of a service, when its files make one evident.
fn detect_health(
    files: &RepoFiles<'_>,
    dir: &str,
    facts: Option<&parse::DockerfileFacts>,
    manifests: &[&Package],
    unit: Option<&DockerUnit>,
) -> Option<Detected<ProposedHealth>> {
    if let Some(c) = unit.and_then(|u| u.compose.as_ref())
        && let Some((path, port)) = &c.health
    {
        return Some(Detected {
            value: ProposedHealth {
                path: path.clone(),
                port: *port,
            },
            source: format!("the health check of `{}` in {}", c.name, c.file),
        });
    }
    if let (Some(f), Some(unit)) = (facts, unit)
        && let Some(path) = &f.health_path
    {
        return Some(Detected {
            value: ProposedHealth {
                path: path.clone(),
                port: None,
            },
            source: format!("`HEALTHCHECK` in {}", unit.dockerfile),
        });
    }
    let manifest = manifests.iter().find(|p| p.spring == Some(true))?;
    let config = spring_config(files, dir);
    let get = |k: &str| spring_get(&config, k).map(|(v, _)| v.trim_end_matches('/').to_owned());
    let base = get("management.endpoints.web.base-path").unwrap_or_else(|| "/actuator".to_owned());
    let context = get("server.servlet.context-path").unwrap_or_default();
    let management_port = get("management.server.port").and_then(|v| parse::spring_port(&v));
    // A separate management port serves the actuator without the servlet context path.
    let path = if management_port.is_some() {
        format!("{base}/health")
    } else {
        format!("{context}{base}/health")
    };
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    let ok = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-._~".contains(c));
    ok.then(|| Detected {
        value: ProposedHealth {
            path,
            port: management_port,
        },
        source: format!("Spring Boot actuator in {}", manifest.manifest),
    })
}

/// Root files whose change affects every service: lockfiles and workspace manifests, each only
/// when some service or library is a package of that root workspace. A root `package-lock.json`
/// that pins a repository's tooling says nothing about Go services beside it.
fn shared_inputs(
    files: &RepoFiles<'_>,
    packages: &[Package],
    service_dirs: &BTreeSet<String>,
    library_dirs: &BTreeSet<String>,
) -> Vec<String> {
    let deployed: Vec<&str> = service_dirs
        .iter()
        .chain(library_dirs)
        .map(String::as_str)
        .collect();
    let covers = |eco| in_root_workspace(files, packages, &deployed, eco);
    let mut out: BTreeSet<String> = ROOT_SHARED
        .iter()
        .filter(|(f, eco)| files.is_file(f) && covers(*eco))
        .map(|(f, _)| (*f).to_owned())
        .collect();
    // A root manifest that only aggregates workspace members (shared dependency versions,
    // compiler settings) affects every member; when the root itself is a service it is already
    // in that service's paths.
    if !service_dirs.contains("") {
        for p in packages.iter().filter(|p| p.dir.is_empty() && p.aggregator) {
            if covers(p.ecosystem) {
                out.insert(p.manifest.clone());
            }
        }
    }
    out.into_iter().collect()
}

/// True when some deployed directory belongs to the root's workspace (or module) of `eco`: its
/// nearest manifest of that ecosystem is the root's, or is a member of a workspace the root
/// declares.
fn in_root_workspace(
    files: &RepoFiles<'_>,
    packages: &[Package],
    deployed: &[&str],
    eco: Ecosystem,
) -> bool {
    let root_declares_workspace = match eco {
        Ecosystem::Npm => {
            files.is_file("pnpm-workspace.yaml")
                || packages
                    .iter()
                    .any(|p| p.dir.is_empty() && p.ecosystem == eco && p.aggregator)
        }
        Ecosystem::Go => files.is_file("go.work"),
        Ecosystem::Gradle => {
            files.is_file("settings.gradle") || files.is_file("settings.gradle.kts")
        }
        // Cargo membership is exact (`cargo_member`); see below.
        Ecosystem::Cargo => false,
        Ecosystem::Python | Ecosystem::Maven => packages
            .iter()
            .any(|p| p.dir.is_empty() && p.ecosystem == eco && p.aggregator),
    };
    deployed.iter().any(|dir| {
        // The nearest directory with any manifest decides: a Go service with its own `go.mod`
        // under a root `package.json` is not an npm package of the root.
        let nearest = std::iter::once((*dir).to_owned())
            .chain(ancestors(dir))
            .find(|d| packages.iter().any(|p| &p.dir == d));
        let owner =
            nearest.and_then(|d| packages.iter().find(|p| p.dir == d && p.ecosystem == eco));
        owner.is_some_and(|p| p.dir.is_empty() || root_declares_workspace || p.cargo_member)
    })
}

/// A DNS-1123 label for the project, as `propose` derives it.
pub fn project_label(project_name: &str) -> String {
    dns_label_max(project_name, 59).unwrap_or_else(|| "app".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_names() {
        assert_eq!(dockerfile_rank("Dockerfile"), Some(0));
        assert_eq!(dockerfile_rank("Containerfile"), Some(1));
        assert_eq!(dockerfile_rank("Dockerfile.prod"), Some(2));
        assert_eq!(dockerfile_rank("api.Dockerfile"), Some(2));
        assert_eq!(dockerfile_rank("Dockerfile.dev"), Some(3));
        assert_eq!(dockerfile_rank("dockerfile-notes.txt"), None);
    }

    #[test]
    fn within() {
        assert!(is_within("a/b", "a"));
        assert!(!is_within("ab", "a"));
        assert!(!is_within("a", "a"));
        assert!(is_within("a", ""));
    }
}
