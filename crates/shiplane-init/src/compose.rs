//! Docker Compose files: which services a repository builds, and how they run.
//!
//! A Compose file is the most direct evidence a repository has of its deployables: `build:`
//! names the context and the Dockerfile, `ports:` the container port, `healthcheck:` the probe,
//! `environment:` the settings. This module reads those facts from `compose.yaml`,
//! `compose.yml`, `docker-compose.yaml` or `docker-compose.yml`, with `${VAR}` substitution
//! from the `.env` file next to it.
//!
//! Pure: the file text and the `.env` text come from the scanner's [`RepoFiles`]; the process
//! environment is never read, so a variable the `.env` file does not set expands to its default
//! (or to nothing), the same on every machine. YAML is read with `serde-saphyr` under a tight
//! budget, so an alias bomb or a huge file costs little. It does not know the intent file, only
//! what a value must not be: a literal secret.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::parse;
use crate::source::{RepoFiles, join, parent};

/// The file names Docker Compose looks for, in its order of preference.
pub(crate) const COMPOSE_FILE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// Compose files larger than this are not read: real ones are a few kilobytes.
const MAX_COMPOSE_BYTES: usize = 256 * 1024;

/// One service of a Compose file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ComposeService {
    /// The service's key under `services:`.
    pub name: String,
    /// The Compose file, repository-relative.
    pub file: String,
    /// How it is built; `None` for a service that only runs an image.
    pub build: Option<ComposeBuild>,
    /// `image:`, when set.
    pub image: Option<String>,
    /// The first container port of `ports:` (or `expose:`).
    pub port: Option<u16>,
    /// The path (and port, when the URL names one) of an HTTP health check.
    pub health: Option<(String, Option<u16>)>,
    /// `environment:`, in file order.
    pub env: Vec<(String, EnvGuess)>,
}

/// `build:` of a Compose service, resolved against the repository root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ComposeBuild {
    /// The build context directory (`""` for the root).
    pub context: String,
    /// The Dockerfile path.
    pub dockerfile: String,
    /// `target:`, when set.
    pub target: Option<String>,
    /// `args:` that are safe to write into the intent, in file order.
    pub args: Vec<(String, String)>,
    /// Names of `args:` left out: credentials, values from the shell, templates.
    pub withheld_args: Vec<String>,
}

/// What to propose for one environment variable of a Compose service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnvGuess {
    /// A plain setting, after substitution.
    Literal(String),
    /// The name or the value says it is a credential: it must come from a Kubernetes Secret.
    Secret,
    /// Nothing to propose, and why (shown as a comment).
    Skipped(String),
}

/// Every service of the Compose file at `path`, sorted by name, or why the file was not read.
pub(crate) fn read(files: &RepoFiles<'_>, path: &str) -> Result<Vec<ComposeService>, String> {
    let text = files
        .read(path)
        .ok_or_else(|| "cannot be read (too large or not UTF-8)".to_owned())?;
    let dir = parent(path);
    let env_file = join(dir, ".env").and_then(|p| files.read(&p));
    parse_compose(path, &text, env_file.as_deref().unwrap_or(""))
}

/// The budget for one Compose file: far above any real one, far below what would hurt.
fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = 200_000;
    budget.max_nodes = 50_000;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_depth = 32;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = MAX_COMPOSE_BYTES;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// Reads the services of a Compose file's text; `env_file` is the text of the `.env` next to it.
pub(crate) fn parse_compose(
    path: &str,
    text: &str,
    env_file: &str,
) -> Result<Vec<ComposeService>, String> {
    if text.len() > MAX_COMPOSE_BYTES {
        return Err(format!("is larger than {MAX_COMPOSE_BYTES} bytes"));
    }
    let doc: Value = serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| format!("is not valid YAML ({})", first_line(&e.to_string())))?;
    let vars = dotenv(env_file);
    let dir = parent(path);
    let Some(services) = doc.get("services").and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<ComposeService> = services
        .iter()
        .filter_map(|(name, spec)| {
            let spec = spec.as_object()?;
            let get = |key: &str| spec.get(key);
            Some(ComposeService {
                name: name.clone(),
                file: path.to_owned(),
                build: get("build").and_then(|b| build(b, dir, &vars)),
                image: get("image")
                    .and_then(|v| text_of(v, &vars))
                    .map(|t| t.value),
                port: get("ports")
                    .and_then(|p| first_port(p, &vars))
                    .or_else(|| get("expose").and_then(|p| first_port(p, &vars))),
                health: get("healthcheck").and_then(|h| health(h, &vars)),
                env: get("environment")
                    .map(|e| environment(e, &vars))
                    .unwrap_or_default(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// The `KEY=VALUE` lines of a `.env` file (`export KEY=…` too), in order.
fn dotenv(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = if v.starts_with(['"', '\'']) {
                unquote(v)
            } else {
                v.split(" #").next().unwrap_or("").trim().to_owned()
            };
            Some((k.trim().to_owned(), v))
        })
        .collect()
}

fn unquote(text: &str) -> String {
    for q in ['"', '\''] {
        if text.len() >= 2 && text.starts_with(q) && text.ends_with(q) {
            return text[1..text.len() - 1].to_owned();
        }
    }
    text.to_owned()
}

/// A string after Compose variable substitution, with the variables it read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expanded {
    value: String,
    /// Names of the variables referenced.
    vars: Vec<String>,
    /// True when a referenced variable was not set and had no default: the value depends on
    /// the shell `docker compose` runs in.
    unresolved: bool,
}

/// Compose interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
/// `$VAR` and `$$` (a literal `$`). Only `vars` is consulted (see the module comment).
fn expand(text: &str, vars: &[(String, String)]) -> Expanded {
    let lookup = |name: &str| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut out = Expanded {
        value: String::new(),
        vars: Vec::new(),
        unresolved: false,
    };
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.value.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.value.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                out.value.push_str(&rest[i..]);
                return out;
            };
            let inner = &body[..end];
            let name_end = inner
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(inner.len());
            let (name, op) = inner.split_at(name_end);
            let value = lookup(name);
            let resolved = match op {
                _ if op.starts_with(":-") => value
                    .filter(|v| !v.is_empty())
                    .map_or_else(|| op[2..].to_owned(), str::to_owned),
                _ if op.starts_with('-') => value.map_or_else(|| op[1..].to_owned(), str::to_owned),
                _ => {
                    if value.is_none() {
                        out.unresolved = true;
                    }
                    value.unwrap_or_default().to_owned()
                }
            };
            out.vars.push(name.to_owned());
            out.value.push_str(&resolved);
            rest = &body[end + 1..];
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if len == 0 {
                out.value.push('$');
            } else {
                let name = &after[..len];
                match lookup(name) {
                    Some(v) => out.value.push_str(v),
                    None => out.unresolved = true,
                }
                out.vars.push(name.to_owned());
            }
            rest = &after[len..];
        }
    }
    out.value.push_str(rest);
    out
}

/// A scalar's text after substitution (numbers and booleans as written); `None` for anything
/// else.
fn text_of(v: &Value, vars: &[(String, String)]) -> Option<Expanded> {
    let raw = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    Some(expand(&raw, vars))
}

/// True for a build context Compose fetches rather than reads from the repository.
fn is_remote(context: &str) -> bool {
    context.contains("://") || context.starts_with("git@") || context.starts_with("github.com/")
}

/// `build:` as a context and a Dockerfile, both repository-relative.
fn build(spec: &Value, dir: &str, vars: &[(String, String)]) -> Option<ComposeBuild> {
    let (context, dockerfile, target, (args, withheld_args)) = match spec {
        Value::String(_) => (
            text_of(spec, vars)?.value,
            None,
            None,
            (Vec::new(), Vec::new()),
        ),
        Value::Object(map) => {
            if map.contains_key("dockerfile_inline") {
                return None; // no file to point the intent at
            }
            let context = map
                .get("context")
                .and_then(|v| text_of(v, vars))
                .map_or_else(|| ".".to_owned(), |t| t.value);
            let dockerfile = map
                .get("dockerfile")
                .and_then(|v| text_of(v, vars))
                .map(|t| t.value);
            let target = map
                .get("target")
                .and_then(|v| text_of(v, vars))
                .map(|t| t.value)
                .filter(|t| !t.is_empty());
            let args = map
                .get("args")
                .map(|a| build_args(a, vars))
                .unwrap_or_default();
            (context, dockerfile, target, args)
        }
        _ => return None,
    };
    if is_remote(&context) {
        return None;
    }
    let context = join(dir, &context)?;
    let dockerfile = join(&context, dockerfile.as_deref().unwrap_or("Dockerfile"))?;
    Some(ComposeBuild {
        context,
        dockerfile,
        target,
        args,
        withheld_args,
    })
}

/// `(key, raw value or None)` pairs of a Compose map or `KEY=VALUE` list.
fn pairs(spec: &Value) -> Vec<(String, Option<Value>)> {
    match spec {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), (!v.is_null()).then(|| v.clone())))
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|item| match item.split_once('=') {
                Some((k, v)) => (k.to_owned(), Some(Value::String(v.to_owned()))),
                None => (item.to_owned(), None),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Build arguments worth proposing (set, not secret, not read as a template by the intent), and
/// the names of the others.
fn build_args(spec: &Value, vars: &[(String, String)]) -> (Vec<(String, String)>, Vec<String>) {
    let mut kept = Vec::new();
    let mut withheld = Vec::new();
    for (k, v) in pairs(spec) {
        let guess = match v.as_ref().and_then(|v| text_of(v, vars)) {
            Some(t) => guess_env(&k, &t),
            None => EnvGuess::Skipped("no value".to_owned()),
        };
        match guess {
            EnvGuess::Literal(value) => kept.push((k, value)),
            _ => withheld.push(k),
        }
    }
    (kept, withheld)
}

/// The container port of a `ports:` (or `expose:`) entry: `"8080:80"`, `"127.0.0.1:8080:80/tcp"`,
/// `"80"`, `80`, `"8000-8001:80-81"` (the first of a range) or `{ target: 80, published: 8080 }`.
fn container_port(entry: &Value, vars: &[(String, String)]) -> Option<u16> {
    if let Some(target) = entry.get("target") {
        return parse::parse_port(&text_of(target, vars)?.value);
    }
    let text = text_of(entry, vars)?.value;
    let spec = text.split('/').next()?;
    let container = spec.rsplit(':').next()?;
    parse::parse_port(container.split('-').next()?)
}

fn first_port(spec: &Value, vars: &[(String, String)]) -> Option<u16> {
    spec.as_array()?
        .iter()
        .find_map(|entry| container_port(entry, vars))
}

/// The URL path and port of an HTTP `healthcheck.test` (`["CMD", "curl", "-f", "http://…"]` or
/// a shell string).
fn health(spec: &Value, vars: &[(String, String)]) -> Option<(String, Option<u16>)> {
    if spec.get("disable").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let test = spec.get("test")?;
    let command = match test {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| text_of(i, vars))
            .map(|t| t.value)
            .collect::<Vec<_>>()
            .join(" "),
        other => text_of(other, vars)?.value,
    };
    let path = parse::url_path(&command)?;
    Some((path, parse::url_port(&command)))
}

/// `environment:` as proposals, in file order.
fn environment(spec: &Value, vars: &[(String, String)]) -> Vec<(String, EnvGuess)> {
    pairs(spec)
        .into_iter()
        .filter(|(k, _)| env_name_ok(k))
        .map(|(k, v)| {
            let guess = match v.as_ref().and_then(|v| text_of(v, vars)) {
                None if looks_secret_name(&k) => EnvGuess::Secret,
                None => EnvGuess::Skipped("its value comes from the shell".to_owned()),
                Some(t) => guess_env(&k, &t),
            };
            (k, guess)
        })
        .collect()
}

/// What to propose for a variable named `name` whose value expanded to `t`.
fn guess_env(name: &str, t: &Expanded) -> EnvGuess {
    // A value built from a secret-looking variable (`postgres://app:${DB_PASSWORD}@db`) holds
    // that secret once substituted, whatever its own name says.
    if looks_secret_name(name)
        || t.vars.iter().any(|v| looks_secret_name(v))
        || looks_secret_value(&t.value)
    {
        return EnvGuess::Secret;
    }
    if t.unresolved {
        let names: BTreeSet<&str> = t.vars.iter().map(String::as_str).collect();
        let names: Vec<String> = names.iter().map(|n| format!("${n}")).collect();
        return EnvGuess::Skipped(format!("it is set from {} in the shell", names.join(", ")));
    }
    if t.value.contains(['{', '}']) {
        return EnvGuess::Skipped(
            "its value has braces, which the intent reads as a template".to_owned(),
        );
    }
    if t.value.chars().any(char::is_control) {
        return EnvGuess::Skipped("its value spans lines".to_owned());
    }
    EnvGuess::Literal(t.value.clone())
}

/// A name a container environment can carry.
fn env_name_ok(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// Whether a variable name says it holds a credential. Deliberately wider than what
/// `shiplane check` rejects: a proposal that asks for one Secret too many costs a minute, one
/// that copies a password into Git costs a rotation.
pub(crate) fn looks_secret_name(name: &str) -> bool {
    let u = name.to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "TOKEN",
        "SECRET",
        "CREDENTIAL",
        "PRIVATE",
        "API_KEY",
        "APIKEY",
        "ACCESS_KEY",
        "AUTH",
        "DSN",
        "CONNECTION_STRING",
        "SALT",
        "COOKIE",
        "SIGNING",
        "CERT",
    ]
    .iter()
    .any(|w| u.contains(w))
        || u == "KEY"
        || u.ends_with("_KEY")
        || u.ends_with("_PWD")
        || u.ends_with("_PASS")
}

/// Whether a value looks like a credential whatever its name: a private key, a well-known token
/// prefix, a URL with a password in it.
pub(crate) fn looks_secret_value(v: &str) -> bool {
    let token_prefix = [
        "ghp_",
        "gho_",
        "ghs_",
        "github_pat_",
        "glpat-",
        "xoxb-",
        "xoxp-",
        "AKIA",
        "AIza",
        "sk-",
        "sk_live_",
        "rk_live_",
    ]
    .iter()
    .any(|p| v.starts_with(p) && v.len() >= 16);
    let url_password = v.split_once("://").is_some_and(|(_, rest)| {
        rest.split('/')
            .next()
            .and_then(|authority| authority.rsplit_once('@'))
            .is_some_and(|(userinfo, _)| {
                userinfo
                    .split_once(':')
                    .is_some_and(|(_, pw)| !pw.is_empty())
            })
    });
    v.contains("-----BEGIN") || token_prefix || url_password
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    fn services(text: &str, env: &str) -> Vec<ComposeService> {
        parse_compose("deploy/docker-compose.yml", text, env).expect("parses")
    }

    #[test]
    fn substitution_follows_compose() {
        let vars = vec![
            ("A".to_owned(), "1".to_owned()),
            ("EMPTY".to_owned(), String::new()),
        ];
        let table = [
            ("${A}", "1", false),
            ("$A-x", "1-x", false),
            ("${B:-two}", "two", false),
            ("${EMPTY:-d}", "d", false),
            ("${EMPTY-d}", "", false),
            ("${B-d}", "d", false),
            ("${B}", "", true),
            ("$$A", "$A", false),
            ("cost: 5$", "cost: 5$", false),
        ];
        for (text, want, unresolved) in table {
            let e = expand(text, &vars);
            assert_eq!(e.value, want, "{text}");
            assert_eq!(e.unresolved, unresolved, "{text}");
        }
    }

    #[test]
    fn build_ports_health_and_env() {
        let text = r#"
services:
  api:
    build:
      context: ../services/api
      dockerfile: docker/api.Dockerfile
      target: runtime
      args:
        GO_VERSION: "${GO_VERSION:-1.22}"
        NPM_TOKEN: ${NPM_TOKEN}
    ports: ["${API_PORT:-8080}:80", "9090"]
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:80/health"]
    environment:
      LOG_LEVEL: info
      DB_PASSWORD: hunter2
      DATABASE_URL: postgres://app:${PGPASS}@db/app
      REDIS_HOST:
      REGION: ${REGION}
  web:
    build: ../web
    ports:
      - target: 3000
        published: 80
    environment:
      - NODE_ENV=production
      - HOME
  redis:
    image: redis:7
"#;
        let s = services(text, "PGPASS=secret\n");
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["api", "redis", "web"]);
        let api = &s[0];
        let b = api.build.as_ref().expect("build");
        assert_eq!(b.context, "services/api");
        assert_eq!(b.dockerfile, "services/api/docker/api.Dockerfile");
        assert_eq!(b.target.as_deref(), Some("runtime"));
        assert_eq!(b.args, [("GO_VERSION".to_owned(), "1.22".to_owned())]);
        assert_eq!(b.withheld_args, ["NPM_TOKEN"]);
        assert_eq!(api.port, Some(80));
        assert_eq!(api.health, Some(("/health".to_owned(), Some(80))));
        assert_eq!(
            api.env[0],
            ("LOG_LEVEL".to_owned(), EnvGuess::Literal("info".to_owned()))
        );
        assert_eq!(api.env[1].1, EnvGuess::Secret);
        assert_eq!(api.env[2].1, EnvGuess::Secret, "a URL with a password");
        assert!(matches!(api.env[3].1, EnvGuess::Skipped(_)));
        assert!(matches!(api.env[4].1, EnvGuess::Skipped(_)));
        assert_eq!(s[1].build, None);
        assert_eq!(s[1].image.as_deref(), Some("redis:7"));
        let web = &s[2];
        assert_eq!(
            web.build.as_ref().map(|b| b.dockerfile.as_str()),
            Some("web/Dockerfile")
        );
        assert_eq!(web.port, Some(3000));
        assert_eq!(web.env.len(), 2);
    }

    #[test]
    fn alias_bombs_and_garbage_are_refused_not_expanded() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 {
                "a".to_owned()
            } else {
                format!("a{}", i - 1)
            };
            let refs = vec![format!("*{prev}"); 10].join(", ");
            let _ = writeln!(bomb, "a{i}: &a{i} [{refs}]");
        }
        assert!(parse_compose("compose.yaml", &bomb, "").is_err());
        assert!(parse_compose("compose.yaml", "services: [", "").is_err());
        assert_eq!(
            parse_compose("compose.yaml", "version: '3'\n", ""),
            Ok(Vec::new())
        );
    }
}
