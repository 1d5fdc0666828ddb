//! `shiplane quickstart [DIR]`: Shiplane's whole job, for real, on a fresh machine with only this
//! binary and git. It writes a small monorepo (`source/`: a static `web` site, an `api` and a
//! `worker` in Python sharing `libs/common`), a bare `GitOps` repository (`gitops.git`) and an OCI
//! image layout (`registry/`, or the registry given by `--registry`), then runs the commands a
//! user would type — by spawning this same binary — and says in one line what each shows:
//! check → plan → image pack + publish → promote dev → staging → prod → a change → plan → pack +
//! publish → promote dev → rollback dev → status.
//!
//! Running it again on the same directory is safe: a directory this command made (it has a
//! `.shiplane-quickstart` marker) gets a fresh `run-N` subdirectory, so earlier runs stay as they
//! were and nothing outside DIR is touched. A non-empty directory without the marker is refused.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anstyle::Style;
use serde_json::{Value, json};

use crate::cli::QuickstartArgs;
use crate::output::{CliError, ErrorKind, Output};

/// The file that marks a directory as made by the quickstart.
const MARKER: &str = ".shiplane-quickstart";
/// The identity of the quickstart's source commits (and its `GitOps` commits).
const AUTHOR_NAME: &str = "Shiplane Quickstart";
const AUTHOR_EMAIL: &str = "quickstart@shiplane.invalid";
/// Who runs the promotions, and the two people who approve staging and prod.
const ACTOR: &str = "quickstart";
const STAGING_APPROVER: &str = "alice";
const PROD_APPROVER: &str = "bob";
/// The service the quickstart changes to show a one-service plan and a rollback.
const CHANGED_SERVICE: &str = "web";

/// One step as it is reported.
struct Step {
    name: String,
    command: String,
    status: &'static str,
    summary: String,
}

/// Where the quickstart's repositories are.
struct Paths {
    /// The directory the user named.
    dir: PathBuf,
    /// This run's directory: `dir`, or `dir/run-N` when `dir` holds an earlier run.
    root: PathBuf,
    source: PathBuf,
    gitops: PathBuf,
    checkout: PathBuf,
    build: PathBuf,
    /// The image location prefix: `oci-layout:ROOT/registry:quickstart` or `--registry`.
    registry: String,
    /// The OCI layout directory, when images go to one.
    layout: Option<PathBuf>,
}

impl Paths {
    /// Where the images are, for people.
    fn images(&self) -> String {
        match &self.layout {
            Some(l) => format!(
                "{}  (OCI image layout; the intent names it `{}`, relative to source/)",
                l.display(),
                self.registry
            ),
            None => self.registry.clone(),
        }
    }
}

struct Runner<'a> {
    exe: PathBuf,
    paths: Paths,
    out: &'a Output,
    steps: Vec<Step>,
}

pub fn run(args: &QuickstartArgs, out: &Output) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let exe = std::env::current_exe().map_err(|e| {
        CliError::new(
            ErrorKind::Failure,
            format!("cannot find the running shiplane binary: {e}"),
        )
    })?;
    require_git()?;
    let paths = prepare_dir(args)?;
    let mut r = Runner {
        exe,
        paths,
        out,
        steps: Vec::new(),
    };
    r.intro();
    r.write_source()?;
    r.init_gitops()?;
    r.tour()?;
    r.finish(started);
    Ok(ExitCode::SUCCESS)
}

/// Refuses early, with what to do, when `git` cannot be run.
fn require_git() -> Result<(), CliError> {
    match Command::new("git").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err(CliError::new(
            ErrorKind::Failure,
            "the quickstart needs `git`, which is not on PATH",
        )
        .help("install git (https://git-scm.com/downloads) and run `shiplane quickstart` again")),
    }
}

/// Picks this run's directory: DIR when it does not exist or is empty, a fresh `DIR/run-N` when
/// DIR holds an earlier quickstart; refuses anything else.
fn prepare_dir(args: &QuickstartArgs) -> Result<Paths, CliError> {
    let given = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("shiplane-quickstart"));
    let cwd = std::env::current_dir().map_err(|e| {
        CliError::new(
            ErrorKind::Failure,
            format!("cannot read the working directory: {e}"),
        )
    })?;
    let dir = cwd.join(&given);
    let io = |what: &str, p: &Path, e: std::io::Error| {
        CliError::new(
            ErrorKind::Failure,
            format!("cannot {what} {}: {e}", p.display()),
        )
    };
    let fresh = if dir.exists() {
        if !dir.is_dir() {
            return Err(CliError::new(
                ErrorKind::Invalid,
                format!("{} exists and is not a directory", dir.display()),
            )
            .help("name another directory: `shiplane quickstart DIR`"));
        }
        let empty = std::fs::read_dir(&dir)
            .map_err(|e| io("read", &dir, e))?
            .next()
            .is_none();
        if !empty && !dir.join(MARKER).is_file() {
            return Err(CliError::new(
                ErrorKind::Invalid,
                format!(
                    "{} exists, is not empty and was not made by `shiplane quickstart`",
                    dir.display()
                ),
            )
            .help("name a new or empty directory: `shiplane quickstart DIR`"));
        }
        empty
    } else {
        std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
        true
    };
    let dir = dir.canonicalize().map_err(|e| io("resolve", &dir, e))?;
    let root = if fresh {
        dir.clone()
    } else {
        let n = (2u32..=u32::MAX)
            .find(|n| !dir.join(format!("run-{n}")).exists())
            .unwrap_or(u32::MAX);
        let root = dir.join(format!("run-{n}"));
        std::fs::create_dir(&root).map_err(|e| io("create", &root, e))?;
        root
    };
    for marked in [&dir, &root] {
        let marker = marked.join(MARKER);
        std::fs::write(
            &marker,
            "made by `shiplane quickstart`; running it again here starts over in a fresh run-N directory\n",
        )
        .map_err(|e| io("write", &marker, e))?;
    }
    let (registry, layout) = match &args.registry {
        Some(r) => (r.trim_end_matches('/').to_owned(), None),
        // Relative to `source/`, where the commands run: an absolute path would put the
        // machine's directory names (`/Users/Alice`, spaces, `:`) into image repository names,
        // which must be lowercase, and into every rendered manifest.
        None => (
            "oci-layout:../registry:quickstart".to_owned(),
            Some(root.join("registry")),
        ),
    };
    Ok(Paths {
        source: root.join("source"),
        gitops: root.join("gitops.git"),
        checkout: root.join("gitops-checkout"),
        build: root.join("build"),
        dir,
        root,
        registry,
        layout,
    })
}

/// The intent the quickstart writes: three services, a library, dev → staging → prod.
fn intent(registry: &str, gitops: &Path) -> String {
    format!(
        r#"# The intent of the quickstart's monorepo: what the services are, what each is built
# from, and the lanes a release moves through. Written by `shiplane quickstart`.
version: 1
project: quickstart
defaults:
  registry: {registry}
  gitops: {{ repo: {gitops}, branch: main }}
libraries:
  common:
    paths: ["libs/common/**"]
services:
  web:
    paths: ["services/web/**"]
    build: {{ context: services/web }}
    run: {{ port: 8080 }}
  api:
    paths: ["services/api/**"]
    depends_on: [common]
    build: {{ context: ., dockerfile: services/api/Dockerfile }}
    run: {{ port: 8000, health: {{ path: /healthz }} }}
  worker:
    paths: ["services/worker/**"]
    depends_on: [common]
    build: {{ context: ., dockerfile: services/worker/Dockerfile }}
lanes:
  dev:
    promote: auto
    tags: ["dev-latest"]
  staging:
    from: dev
    approvals: 1
  prod:
    from: staging
    version: minor
    approvals: 1
    tags: ["prod", "{{version}}"]
retention:
  keep_newest: 3
  rollback_window: 2
"#,
        registry = yaml_string(registry),
        gitops = yaml_string(&format!("file://{}", gitops.display())),
    )
}

/// The monorepo's files (besides the intent).
const SOURCE_FILES: &[(&str, &str)] = &[
    (
        "README.md",
        "# quickstart monorepo\n\nMade by `shiplane quickstart`: a static `web` site, an `api` and a `worker`\nin Python, and `libs/common`, which both Python services import.\n",
    ),
    (
        "services/web/index.html",
        "<!doctype html>\n<title>Quickstart</title>\n<link rel=\"stylesheet\" href=\"style.css\">\n<h1>Hello from the quickstart</h1>\n",
    ),
    (
        "services/web/style.css",
        "body { font-family: sans-serif; margin: 4rem; }\n",
    ),
    (
        "services/web/Dockerfile",
        "FROM nginxinc/nginx-unprivileged:alpine\nCOPY . /usr/share/nginx/html\n",
    ),
    (
        "libs/common/greeting.py",
        "def greeting(who):\n    return f\"hello from {who}\"\n",
    ),
    (
        "services/api/server.py",
        "import http.server\nimport sys\n\nsys.path.insert(0, \"/app/lib\")\nfrom greeting import greeting\n\n\nclass Handler(http.server.BaseHTTPRequestHandler):\n    def do_GET(self):\n        body = (\"ok\" if self.path == \"/healthz\" else greeting(\"api\")).encode()\n        self.send_response(200)\n        self.end_headers()\n        self.wfile.write(body)\n\n\nhttp.server.ThreadingHTTPServer((\"\", 8000), Handler).serve_forever()\n",
    ),
    (
        "services/api/Dockerfile",
        "FROM python:3.12-slim\nCOPY libs/common /app/lib\nCOPY services/api /app\nCMD [\"python3\", \"/app/server.py\"]\n",
    ),
    (
        "services/worker/worker.py",
        "import sys\nimport time\n\nsys.path.insert(0, \"/app/lib\")\nfrom greeting import greeting\n\nwhile True:\n    print(greeting(\"worker\"), flush=True)\n    time.sleep(60)\n",
    ),
    (
        "services/worker/Dockerfile",
        "FROM python:3.12-slim\nCOPY libs/common /app/lib\nCOPY services/worker /app\nCMD [\"python3\", \"/app/worker.py\"]\n",
    ),
];

/// How each service's image is laid out and started: (service, files → image directory,
/// whether it gets `libs/common`, pack options).
fn image_layout(service: &str) -> (&'static str, bool, &'static [&'static str]) {
    match service {
        "web" => ("srv/www", false, &["--workdir", "/srv/www"]),
        "api" => ("app", true, &["--entrypoint", "python3", "/app/server.py"]),
        _ => ("app", true, &["--entrypoint", "python3", "/app/worker.py"]),
    }
}

impl Runner<'_> {
    fn bold(&self, text: &str) -> String {
        self.out.paint(Style::new().bold(), text)
    }

    fn dim(&self, text: &str) -> String {
        self.out.paint(Style::new().dimmed(), text)
    }

    fn say(&self, text: &str) {
        if !self.out.json {
            crate::outln!("{text}");
        }
    }

    fn intro(&self) {
        let p = &self.paths;
        self.say(&format!(
            "{} in {}",
            self.bold("Shiplane quickstart"),
            p.root.display()
        ));
        if p.root != p.dir {
            self.say(&self.dim(&format!(
                "  ({} holds an earlier quickstart; this run starts over here and leaves it as it was)",
                p.dir.display()
            )));
        }
        self.say(&format!(
            "  source monorepo    {}  (web, api, worker + libs/common)",
            p.source.display()
        ));
        self.say(&format!(
            "  GitOps repository  {}  (bare, branch main)",
            p.gitops.display()
        ));
        self.say(&format!("  images             {}", p.images()));
        self.say("");
    }

    /// The environment every child gets: a fixed git identity, and nothing from the caller's
    /// environment that would point the commands elsewhere.
    fn command(program: &Path, dir: &Path, actor: &str) -> Command {
        let mut c = Command::new(program);
        c.current_dir(dir)
            .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
            .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
            .env("GIT_COMMITTER_NAME", AUTHOR_NAME)
            .env("GIT_COMMITTER_EMAIL", AUTHOR_EMAIL)
            .env("SHIPLANE_GIT_AUTHOR_NAME", AUTHOR_NAME)
            .env("SHIPLANE_GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
            .env("SHIPLANE_ACTOR", actor)
            .env("NO_COLOR", "1");
        for var in [
            "SHIPLANE_INTENT",
            "GITHUB_ACTOR",
            "BUILDKITE_BUILD_CREATOR",
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_OBJECT_DIRECTORY",
            "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_CEILING_DIRECTORIES",
        ] {
            c.env_remove(var);
        }
        c
    }

    /// Runs git in `dir` (without the user's hooks or signing), failing with its stderr.
    fn git(dir: &Path, args: &[&str]) -> Result<String, CliError> {
        let out = Self::command(Path::new("git"), dir, ACTOR)
            .args([
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .output()
            .map_err(|e| CliError::new(ErrorKind::Failure, format!("cannot run git: {e}")))?;
        if !out.status.success() {
            return Err(CliError::new(
                ErrorKind::Failure,
                format!(
                    "`git {}` in {} failed: {}",
                    args.join(" "),
                    dir.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn write(path: &Path, text: &str) -> Result<(), CliError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                CliError::new(
                    ErrorKind::Failure,
                    format!("cannot create {}: {e}", parent.display()),
                )
            })?;
        }
        std::fs::write(path, text).map_err(|e| {
            CliError::new(
                ErrorKind::Failure,
                format!("cannot write {}: {e}", path.display()),
            )
        })
    }

    /// The monorepo: an empty first commit (the base the first plan compares with), then the
    /// services, the library and the intent.
    fn write_source(&mut self) -> Result<(), CliError> {
        let src = self.paths.source.clone();
        std::fs::create_dir_all(&src).map_err(|e| {
            CliError::new(
                ErrorKind::Failure,
                format!("cannot create {}: {e}", src.display()),
            )
        })?;
        Self::git(&src, &["init", "-q"])?;
        Self::git(&src, &["symbolic-ref", "HEAD", "refs/heads/main"])?;
        Self::git(
            &src,
            &["commit", "-q", "--allow-empty", "-m", "Start the monorepo"],
        )?;
        for (path, text) in SOURCE_FILES {
            Self::write(&src.join(path), text)?;
        }
        Self::write(
            &src.join("shiplane.yaml"),
            &intent(&self.paths.registry, &self.paths.gitops),
        )?;
        Self::git(&src, &["add", "-A"])?;
        Self::git(
            &src,
            &[
                "commit",
                "-q",
                "-m",
                "Add web, api, worker, libs/common and shiplane.yaml",
            ],
        )?;
        Ok(())
    }

    fn init_gitops(&self) -> Result<(), CliError> {
        let gitops = self.paths.gitops.to_string_lossy().into_owned();
        Self::git(&self.paths.root, &["init", "-q", "--bare", &gitops])?;
        Self::git(
            &self.paths.root,
            &[
                "--git-dir",
                &gitops,
                "symbolic-ref",
                "HEAD",
                "refs/heads/main",
            ],
        )?;
        Ok(())
    }

    /// Prints a step's command line before it runs.
    fn announce(&self, shown: &str) {
        self.say(&format!(
            "{} {}",
            self.bold(&format!("{:>2}.", self.steps.len() + 1)),
            self.bold(shown)
        ));
    }

    fn record(&mut self, name: &str, shown: String, status: &'static str, summary: String) {
        let mark = match status {
            "ok" => self.out.paint(Output::ok_style(), "✓"),
            _ => self.dim("–"),
        };
        self.say(&format!("    {mark} {summary}"));
        self.steps.push(Step {
            name: name.to_owned(),
            command: shown,
            status,
            summary,
        });
    }

    /// Runs `shiplane ARGS --json` in the monorepo as `actor`; returns its JSON document, or
    /// the exit status and what it said.
    fn try_shiplane(&self, args: &[String], actor: &str) -> Result<Value, (i32, String)> {
        let out = Self::command(&self.exe, &self.paths.source, actor)
            .args(args)
            .arg("--json")
            .output()
            .map_err(|e| (-1, format!("cannot run {}: {e}", self.exe.display())))?;
        let doc = serde_json::from_slice::<Value>(&out.stdout).ok();
        if out.status.success()
            && let Some(doc) = doc
        {
            return Ok(doc);
        }
        let said = doc
            .as_ref()
            .and_then(|d| d["error"]["message"].as_str())
            .map_or_else(
                || {
                    format!(
                        "{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    )
                    .trim()
                    .to_owned()
                },
                str::to_owned,
            );
        Err((out.status.code().unwrap_or(-1), said))
    }

    /// The command line as a user types it, with `SHIPLANE_ACTOR=` when someone other than
    /// the quickstart's own actor runs it.
    fn line(args: &[String], actor: &str) -> String {
        if actor == ACTOR {
            shown(args)
        } else {
            format!("SHIPLANE_ACTOR={actor} {}", shown(args))
        }
    }

    /// Announces and runs one shiplane step; a failure ends the quickstart.
    fn shiplane(&self, args: &[String], actor: &str) -> Result<Value, CliError> {
        let line = Self::line(args, actor);
        self.announce(&line);
        self.try_shiplane(args, actor).map_err(|(code, said)| {
            CliError::new(
                ErrorKind::Failure,
                format!(
                    "step {} `{line}` failed (exit {code}): {said}",
                    self.steps.len() + 1
                ),
            )
            .help(format!(
                "the quickstart's repositories are in {}; run the command there to see more",
                self.paths.root.display()
            ))
        })
    }

    /// Runs one shiplane step and records it with the summary `summarize` makes of its JSON.
    fn step(
        &mut self,
        name: &str,
        list: &[&str],
        actor: &str,
        summarize: impl Fn(&Value) -> String,
    ) -> Result<Value, CliError> {
        let args = args(list);
        let doc = self.shiplane(&args, actor)?;
        self.record(name, Self::line(&args, actor), "ok", summarize(&doc));
        Ok(doc)
    }

    /// The whole tour.
    fn tour(&mut self) -> Result<(), CliError> {
        self.say(&self.dim(&format!(
            "Each step runs the command shown (with --json, to sum it up) in {}",
            self.paths.source.display()
        )));
        self.step("check", &["check"], ACTOR, |doc| {
            format!(
                "shiplane.yaml is valid ({} warnings): 3 services, 1 library, lanes dev → staging → prod",
                doc["warnings"].as_u64().unwrap_or(0)
            )
        })?;

        let first = self.first_plan()?;
        self.build_and_publish(&first)?;
        let promote_dev = ["promote", "dev", "--commit", "HEAD"];
        self.step("promote dev", &promote_dev, ACTOR, promoted)?;
        self.step(
            "promote staging",
            &["promote", "staging", "--from", "dev", "--approve"],
            STAGING_APPROVER,
            promoted,
        )?;
        self.step(
            "promote prod",
            &["promote", "prod", "--from", "staging", "--approve"],
            PROD_APPROVER,
            promoted,
        )?;

        self.change_web()?;
        let second = self.step("plan", &["plan", "--base", "HEAD~1"], ACTOR, plan_summary)?;
        self.build_and_publish(&second)?;
        self.step("promote dev", &promote_dev, ACTOR, promoted)?;
        self.step("rollback dev", &["rollback", "dev"], ACTOR, |doc| {
            format!(
                "dev is back on release {} (from {}) and held until `shiplane release-hold dev`",
                doc["to"]["release"].as_str().unwrap_or("?"),
                doc["from"]["release"].as_str().unwrap_or("?"),
            )
        })?;
        self.step("status", &["status"], ACTOR, status_summary)?;

        self.step(
            "registry gc",
            &["registry", "gc", "--dry-run"],
            ACTOR,
            gc_summary,
        )?;

        let checkout = self.paths.checkout.to_string_lossy().into_owned();
        let gitops = self.paths.gitops.to_string_lossy().into_owned();
        let clone = format!("git clone {} {}", quote(&gitops), quote(&checkout));
        self.announce(&clone);
        Self::git(&self.paths.root, &["clone", "-q", &gitops, &checkout])?;
        let commits = Self::git(&self.paths.gitops, &["rev-list", "--count", "main"])?;
        self.record(
            "checkout",
            clone,
            "ok",
            format!("a working copy of the GitOps repository ({commits} commits) to look at"),
        );
        Ok(())
    }

    /// The first plan: against the artifact index when `plan` can (no `--base`), else against
    /// the monorepo's empty first commit.
    fn first_plan(&mut self) -> Result<Value, CliError> {
        let no_base = args(&["plan"]);
        if let Ok(doc) = self.try_shiplane(&no_base, ACTOR) {
            self.announce(&shown(&no_base));
            self.record("plan", shown(&no_base), "ok", plan_summary(&doc));
            return Ok(doc);
        }
        self.step("plan", &["plan", "--base", "HEAD~1"], ACTOR, |doc| {
            format!(
                "{} (HEAD~1 is the monorepo's empty first commit: this build's `plan` needs --base until it reads the artifact index)",
                plan_summary(doc)
            )
        })
    }

    /// Packs and publishes every service the plan says to build, under the name and tag the
    /// plan gives; returns the image references.
    fn build_and_publish(&mut self, plan: &Value) -> Result<(), CliError> {
        for item in plan["affected"].as_array().into_iter().flatten() {
            let (Some(service), Some(image), Some(tag)) = (
                item["service"].as_str(),
                item["image"].as_str(),
                item["tag"].as_str(),
            ) else {
                continue;
            };
            let reference = format!("{image}:{tag}");
            let context = self.build_context(service)?;
            let (_, _, options) = image_layout(service);
            let rel = format!("../build/{service}");
            let mut pack = args(&["image", "pack", &rel, "--to", &reference]);
            pack.extend(options.iter().map(|s| (*s).to_owned()));
            debug_assert!(context.ends_with(format!("build/{service}")));
            self.announce(&shown(&pack));
            let doc = self.try_shiplane(&pack, ACTOR).map_err(|(code, said)| {
                CliError::new(
                    ErrorKind::Failure,
                    format!("`{}` failed (exit {code}): {said}", shown(&pack)),
                )
            })?;
            self.record(
                "image pack",
                shown(&pack),
                "ok",
                format!(
                    "{service} image {} in {}",
                    short(doc["digest"].as_str().unwrap_or("?")),
                    self.paths
                        .layout
                        .as_ref()
                        .map_or_else(|| "the registry".to_owned(), |l| l.display().to_string())
                ),
            );
            self.step(
                "publish",
                &["publish", service, "--image", &reference],
                ACTOR,
                |doc| {
                    let what = if doc["recorded"].as_bool() == Some(true) {
                        "recorded in the artifact index"
                    } else {
                        "already in the artifact index"
                    };
                    format!(
                        "{service} {} {what} for fingerprint {}",
                        short(doc["digest"].as_str().unwrap_or("?")),
                        doc["fingerprint"]
                            .as_str()
                            .and_then(|f| f.get(..12))
                            .unwrap_or("?")
                    )
                },
            )?;
        }
        Ok(())
    }

    /// What CI would build from: the service's files (and `libs/common` for the Python
    /// services) laid out as in the image, in `build/SERVICE`.
    fn build_context(&self, service: &str) -> Result<PathBuf, CliError> {
        let (inside, with_lib, _) = image_layout(service);
        let context = self.paths.build.join(service);
        if context.exists() {
            std::fs::remove_dir_all(&context).map_err(|e| {
                CliError::new(
                    ErrorKind::Failure,
                    format!("cannot clear {}: {e}", context.display()),
                )
            })?;
        }
        let target = context.join(inside);
        copy_dir(
            &self.paths.source.join("services").join(service),
            &target,
            &["Dockerfile"],
        )?;
        if with_lib {
            copy_dir(
                &self.paths.source.join("libs/common"),
                &target.join("lib"),
                &[],
            )?;
        }
        Ok(context)
    }

    /// A developer changes the web site's headline and commits.
    fn change_web(&mut self) -> Result<(), CliError> {
        let file = format!("services/{CHANGED_SERVICE}/index.html");
        let path = self.paths.source.join(&file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            CliError::new(
                ErrorKind::Failure,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        Self::write(
            &path,
            &text.replace(
                "Hello from the quickstart",
                "Hello again, with a new headline",
            ),
        )?;
        let message = "web: a new headline";
        let shown = format!("git commit -am '{message}'   # after editing {file}");
        self.announce(&shown);
        Self::git(&self.paths.source, &["commit", "-q", "-am", message])?;
        let head = Self::git(&self.paths.source, &["rev-parse", "--short=7", "HEAD"])?;
        self.record(
            "change",
            shown,
            "ok",
            format!("commit {head} changes only {file}"),
        );
        Ok(())
    }

    fn finish(&self, started: Instant) {
        let p = &self.paths;
        let explore = [
            format!(
                "git -C {} log --oneline",
                quote(&p.gitops.to_string_lossy())
            ),
            format!(
                "shiplane status --intent {}",
                quote(&p.source.join("shiplane.yaml").to_string_lossy())
            ),
            format!(
                "ls {}",
                quote(&p.checkout.join("lanes/dev/manifests").to_string_lossy())
            ),
        ];
        if self.out.json {
            self.out.print_json(&json!({
                "quickstart_version": 1,
                "dir": p.dir,
                "root": p.root,
                "paths": {
                    "source": p.source,
                    "intent": p.source.join("shiplane.yaml"),
                    "gitops": p.gitops,
                    "gitops_url": format!("file://{}", p.gitops.display()),
                    "gitops_checkout": p.checkout,
                    "registry": p.registry,
                    "oci_layout": p.layout,
                },
                "steps": self.steps.iter().map(|s| json!({
                    "name": s.name,
                    "command": s.command,
                    "status": s.status,
                    "summary": s.summary,
                })).collect::<Vec<_>>(),
                "explore": explore,
                "seconds": started.elapsed().as_secs_f64(),
            }));
            return;
        }
        let mut text = String::new();
        let _ = writeln!(
            text,
            "\n{} {} steps in {:.1}s.",
            self.out.paint(Output::ok_style(), "Done:"),
            self.steps.len(),
            started.elapsed().as_secs_f64()
        );
        let _ = writeln!(text, "  source monorepo    {}", p.source.display());
        let _ = writeln!(text, "  GitOps repository  {}", p.gitops.display());
        let _ = writeln!(text, "  its working copy   {}", p.checkout.display());
        let _ = writeln!(text, "  images             {}", p.images());
        let _ = writeln!(text, "\nExplore:");
        for line in &explore {
            let _ = writeln!(text, "  {line}");
        }
        crate::output::write_stdout(&text);
    }
}

/// A YAML double-quoted scalar (JSON's escaping is valid YAML).
fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// `shiplane ARGS` as a user types it.
fn shown(args: &[String]) -> String {
    let mut line = String::from("shiplane");
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    line
}

/// Single-quotes a word for a POSIX shell when it needs it.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@~+,%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn short(digest: &str) -> String {
    digest
        .get(..19)
        .map_or_else(|| digest.to_owned(), |d| format!("{d}…"))
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["service"].as_str())
        .collect()
}

fn plan_summary(doc: &Value) -> String {
    let affected = names(&doc["affected"]);
    let reused = names(&doc["reused"]);
    let unchanged = names(&doc["unchanged"]);
    let reasons: Vec<String> = doc["affected"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| {
            let reasons: Vec<&str> = i["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            Some(format!(
                "{}: {}",
                i["service"].as_str()?,
                reasons.join(", ")
            ))
        })
        .collect();
    let list = |v: &[&str]| {
        if v.is_empty() {
            String::new()
        } else {
            format!(" ({})", v.join(", "))
        }
    };
    format!(
        "{} to build [{}], {} reused{}, {} unchanged{}",
        affected.len(),
        reasons.join("; "),
        reused.len(),
        list(&reused),
        unchanged.len(),
        list(&unchanged)
    )
}

fn promoted(doc: &Value) -> String {
    let lane = doc["lane"].as_str().unwrap_or("?");
    let release = &doc["release"];
    let id = release["id"].as_str().unwrap_or("?");
    let mut s = match release["version"].as_str() {
        Some(v) => format!("{lane} runs release {id} as version {v}"),
        None => format!("{lane} runs release {id}"),
    };
    let approvers: Vec<&str> = release["approvals"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["by"].as_str())
        .collect();
    if !approvers.is_empty() {
        let _ = write!(s, ", approved by {}", approvers.join(", "));
    }
    match doc["gitops_commit"].as_str() {
        Some(c) => {
            let _ = write!(s, " (GitOps commit {})", c.get(..7).unwrap_or(c));
        }
        None => s.push_str(" (nothing changed, no commit)"),
    }
    s
}

/// What a `registry gc` dry run found.
fn gc_summary(doc: &Value) -> String {
    let n = |k: &str| doc[k].as_u64().unwrap_or(0);
    let repositories = doc["repositories"]
        .as_array()
        .map_or(0, |r| r.iter().filter(|r| r["exists"] == true).count());
    format!(
        "dry run over {} tag(s) in {repositories} repositories: {} kept, {} would be deleted; every digest a lane runs or may roll back to is kept",
        n("kept") + n("deleted"),
        n("kept"),
        n("deleted"),
    )
}

fn status_summary(doc: &Value) -> String {
    doc["lanes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            let mut s = format!(
                "{} {}",
                l["lane"].as_str().unwrap_or("?"),
                l["release"].as_str().unwrap_or("(none)")
            );
            if let Some(v) = l["version"].as_str() {
                let _ = write!(s, " v{v}");
            }
            if l["held"].as_bool() == Some(true) {
                s.push_str(" HELD");
            }
            s
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Copies a directory tree (regular files only, skipping `skip` names), keeping the executable
/// bit.
fn copy_dir(from: &Path, to: &Path, skip: &[&str]) -> Result<(), CliError> {
    let err = |what: &str, p: &Path, e: std::io::Error| {
        CliError::new(
            ErrorKind::Failure,
            format!("cannot {what} {}: {e}", p.display()),
        )
    };
    std::fs::create_dir_all(to).map_err(|e| err("create", to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| err("read", from, e))? {
        let entry = entry.map_err(|e| err("read", from, e))?;
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let kind = entry
            .file_type()
            .map_err(|e| err("read", &entry.path(), e))?;
        let target = to.join(&name);
        if kind.is_dir() {
            copy_dir(&entry.path(), &target, skip)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).map_err(|e| err("copy", &entry.path(), e))?;
        }
    }
    Ok(())
}
