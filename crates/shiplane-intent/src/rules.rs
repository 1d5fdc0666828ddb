//! The semantic rules of SPEC §4: names, dependencies and cycles, lanes and their graph, `GitOps`
//! locations (credential-free addresses, paths that stay in their own directory), ports, probes,
//! quantities, secrets, template variables, schedules and windows.
//!
//! Rules read the typed model (and the effective model, for what is inherited) and point at the
//! source through the node tree. They never stop at the first problem.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Diagnostic;
use crate::effective::EffectiveIntent;
use crate::model::{EnvValue, Intent, Run, Scalar, ServiceKind, WriteMode};
use crate::node::{Node, Span};
use crate::structure::closest;
use crate::template;
use crate::values::{self, AddressKind};

/// Finds positions by path. A path that does not exist (a defaulted value) falls back to the
/// nearest ancestor that does, so every diagnostic still has a place.
struct Loc<'a> {
    root: &'a Node,
}

impl Loc<'_> {
    fn walk(&self, path: &[&str]) -> (Option<Span>, Span) {
        let mut node = self.root;
        let mut key_span = None;
        for seg in path {
            let next = match &node.value {
                crate::node::Value::Map(_) => node.get(seg).map(|(k, v)| (Some(k.span), v)),
                crate::node::Value::Seq(items) => seg
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|v| (None, v)),
                _ => None,
            };
            match next {
                Some((k, v)) => {
                    key_span = k.or(key_span);
                    node = v;
                }
                None => return (key_span, key_span.unwrap_or(node.span)),
            }
        }
        (key_span, node.span)
    }

    /// The span of the value at `path`.
    fn value(&self, path: &[&str]) -> Span {
        self.walk(path).1
    }

    /// The span of the key at `path` (or of the value when it has no key).
    fn key(&self, path: &[&str]) -> Span {
        let (k, v) = self.walk(path);
        k.unwrap_or(v)
    }
}

struct Ctx<'a> {
    intent: &'a Intent,
    eff: &'a EffectiveIntent,
    loc: Loc<'a>,
    out: &'a mut Vec<Diagnostic>,
}

pub(crate) fn check(
    intent: &Intent,
    eff: &EffectiveIntent,
    root: &Node,
    out: &mut Vec<Diagnostic>,
) {
    let mut c = Ctx {
        intent,
        eff,
        loc: Loc { root },
        out,
    };
    c.top();
    c.globs();
    c.services();
    c.dependencies();
    c.lanes();
    c.templates();
    c.addresses();
    c.gitops_paths();
    c.notify();
    c.retention();
    c.usage();
}

impl<'a> Ctx<'a> {
    fn err(&mut self, code: &'static str, msg: String, span: Span) -> &mut Diagnostic {
        self.out.push(Diagnostic::error(code, msg).at(span));
        self.out.last_mut().expect("just pushed")
    }

    fn warn(&mut self, code: &'static str, msg: String, span: Span) -> &mut Diagnostic {
        self.out.push(Diagnostic::warning(code, msg).at(span));
        self.out.last_mut().expect("just pushed")
    }

    /// Checks a name; the position is looked up only when the name is invalid (large intents
    /// have thousands of names and finding a position is a search).
    fn name(
        &mut self,
        what: &str,
        name: &str,
        span: impl FnOnce(&Loc<'_>) -> Span,
        subdomain: bool,
    ) {
        let r = if subdomain {
            values::dns_subdomain(name)
        } else {
            values::dns_label(name)
        };
        if let Err(why) = r {
            let kind = if subdomain {
                "DNS-1123 subdomain"
            } else {
                "DNS-1123 label"
            };
            let fix = values::suggest_label(name);
            let d = Diagnostic::error(
                "invalid-name",
                format!("{what} `{name}` is not a valid {kind}: {why}"),
            )
            .at(span(&self.loc))
            .help(if fix.is_empty() || fix == name {
                "use lower-case letters, digits and `-`".to_owned()
            } else {
                format!("use lower-case letters, digits and `-`, e.g. `{fix}`")
            });
            self.out.push(d);
        }
    }

    fn top(&mut self) {
        let intent: &'a Intent = self.intent;
        if intent.version != 1 {
            let s = self.loc.value(&["version"]);
            self.err(
                "unsupported-version",
                format!("intent version {} is not supported", intent.version),
                s,
            )
            .help = Some("this Shiplane reads `version: 1`".into());
        }
        self.name(
            "project name",
            &intent.project,
            |l| l.value(&["project"]),
            false,
        );
    }

    fn globs(&mut self) {
        let intent: &'a Intent = self.intent;
        let mut lists: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        if let Some(i) = &intent.inputs {
            lists.push((vec!["inputs".into(), "shared".into()], i.shared.clone()));
            lists.push((vec!["inputs".into(), "ignore".into()], i.ignore.clone()));
        }
        for (n, l) in &intent.libraries {
            lists.push((
                vec!["libraries".into(), n.clone(), "paths".into()],
                l.paths.clone(),
            ));
        }
        for (n, s) in &intent.services {
            lists.push((
                vec!["services".into(), n.clone(), "paths".into()],
                s.paths.clone(),
            ));
        }
        for (path, globs) in lists {
            for (i, g) in globs.iter().enumerate() {
                if let Err(why) = values::glob(g) {
                    let idx = i.to_string();
                    let mut p: Vec<&str> = path.iter().map(String::as_str).collect();
                    p.push(&idx);
                    let s = self.loc.value(&p);
                    self.err(
                        "invalid-glob",
                        format!("`{g}` is not a valid path glob: {why}"),
                        s,
                    )
                    .help = Some(
                        "globs are relative to the repository root, like `services/api/**`".into(),
                    );
                }
            }
        }
        for n in intent.libraries.keys() {
            self.name("library name", n, |l| l.key(&["libraries", n]), false);
        }
    }

    fn services(&mut self) {
        let intent: &'a Intent = self.intent;
        let eff: &'a EffectiveIntent = self.eff;
        let services = &intent.services;
        if let Some(run) = intent.defaults.as_ref().and_then(|d| d.run.as_ref()) {
            self.run(&["defaults", "run"], run);
        }
        for (name, svc) in services {
            self.name("service name", name, |l| l.key(&["services", name]), false);
            if svc.paths.is_empty() {
                let s = self.loc.value(&["services", name, "paths"]);
                self.err(
                    "no-paths",
                    format!("service `{name}` has no paths, so no change could ever rebuild it"),
                    s,
                )
                .help = Some(format!(
                    "list its files, like `paths: [\"services/{name}/**\"]`"
                ));
            }
            match (svc.kind, &svc.schedule) {
                (ServiceKind::Cronjob, None) => {
                    let s = self.loc.value(&["services", name, "kind"]);
                    self.err(
                        "missing-schedule",
                        format!("service `{name}` is a cronjob without a `schedule`"),
                        s,
                    )
                    .help = Some(
                        "add `schedule: \"0 3 * * *\"` (minute hour day month weekday)".into(),
                    );
                }
                (ServiceKind::Cronjob, Some(sched)) => {
                    if let Err(why) = values::cron(sched) {
                        let s = self.loc.value(&["services", name, "schedule"]);
                        self.err(
                            "invalid-schedule",
                            format!("`{sched}` is not a cron schedule: {why}"),
                            s,
                        );
                    }
                }
                (_, Some(_)) => {
                    let s = self.loc.key(&["services", name, "schedule"]);
                    self.err(
                        "unexpected-schedule",
                        format!("service `{name}` has a `schedule` but is not a cronjob"),
                        s,
                    )
                    .help = Some("add `kind: cronjob`, or remove `schedule`".into());
                }
                _ => {}
            }
            if let Some(run) = &svc.run {
                self.run(&["services", name, "run"], run);
            }
            let eff = &eff.services[name];
            let has_port = eff.run.port.is_some();
            if svc.expose.is_some() && !has_port {
                let s = self.loc.key(&["services", name, "expose"]);
                self.err(
                    "expose-without-port",
                    format!("service `{name}` is exposed but has no `run.port`"),
                    s,
                )
                .help =
                    Some("add `run: { port: 8080 }` with the port the container listens on".into());
            }
            if let Some(h) = &eff.run.health
                && h.port.is_none()
                && !has_port
            {
                let s = self.loc.key(&["services", name, "run", "health"]);
                self.err(
                    "health-without-port",
                    format!("service `{name}` has a health check but no port to probe"),
                    s,
                )
                .help = Some("add `run.port`, or `health.port`".into());
            }
            if let Some(expose) = &svc.expose
                && let Some(p) = &expose.path
                && !p.starts_with('/')
            {
                let s = self.loc.value(&["services", name, "expose", "path"]);
                self.err(
                    "invalid-path",
                    format!("expose path `{p}` must start with `/`"),
                    s,
                )
                .help = Some(format!("write `/{p}`"));
            }
            for (i, check) in svc.checks.iter().enumerate() {
                let idx = i.to_string();
                if !(check.url.starts_with("http://") || check.url.starts_with("https://")) {
                    let s = self.loc.value(&["services", name, "checks", &idx, "url"]);
                    self.err(
                        "invalid-url",
                        format!(
                            "check URL `{}` must start with `http://` or `https://`",
                            check.url
                        ),
                        s,
                    );
                }
                for (j, code) in check.expect.iter().enumerate() {
                    if !(100..=599).contains(code) {
                        let jdx = j.to_string();
                        let s = self
                            .loc
                            .value(&["services", name, "checks", &idx, "expect", &jdx]);
                        self.err(
                            "invalid-status",
                            format!("{code} is not an HTTP status code"),
                            s,
                        )
                        .help = Some("use codes from 100 to 599, like `[200, 301]`".into());
                    }
                }
            }
            if let Some(m) = &svc.migrate
                && m.command.is_empty()
            {
                let s = self.loc.value(&["services", name, "migrate", "command"]);
                self.err("empty-command", "the migration command is empty".into(), s);
            }
        }
    }

    fn run(&mut self, base: &[&str], run: &Run) {
        let at = |extra: &[&str]| -> Vec<String> {
            base.iter().chain(extra).map(|s| (*s).to_owned()).collect()
        };
        let span = |c: &Self, p: Vec<String>, key: bool| {
            let p: Vec<&str> = p.iter().map(String::as_str).collect();
            if key { c.loc.key(&p) } else { c.loc.value(&p) }
        };
        for (field, port) in [
            ("port", run.port),
            ("health.port", run.health.as_ref().and_then(|h| h.port)),
        ] {
            if let Some(port) = port
                && !(1..=65535).contains(&port)
            {
                let parts: Vec<&str> = field.split('.').collect();
                let s = span(self, at(&parts), false);
                self.err("invalid-port", format!("port {port} is out of range"), s)
                    .help = Some("ports are 1 to 65535".into());
            }
        }
        if let Some(h) = &run.health
            && !h.path.starts_with('/')
        {
            let s = span(self, at(&["health", "path"]), false);
            let path = h.path.clone();
            self.err(
                "invalid-health-path",
                format!("health path `{path}` must start with `/`"),
                s,
            )
            .help = Some(format!("write `/{path}`"));
        }
        if let Some(r) = &run.resources {
            for (field, q) in [("cpu", &r.cpu), ("memory", &r.memory)] {
                let Some(q) = q else { continue };
                let text = q.as_text();
                if let Err(why) = values::quantity(&text) {
                    let s = span(self, at(&["resources", field]), false);
                    let example = if field == "cpu" {
                        "`200m` or `1`"
                    } else {
                        "`512Mi` or `2Gi`"
                    };
                    self.err(
                        "invalid-quantity",
                        format!("`{text}` is not a Kubernetes quantity: {why}"),
                        s,
                    )
                    .help = Some(format!("write {field} like {example}"));
                }
            }
        }
        if let Some(sec) = &run.security {
            for (i, w) in sec.writable.iter().flatten().enumerate() {
                if let Err(why) = values::absolute_path(w) {
                    let s = span(self, at(&["security", "writable", &i.to_string()]), false);
                    self.err("invalid-path", format!("writable path `{w}`: {why}"), s);
                }
            }
        }
        for (i, f) in run.files.iter().enumerate() {
            if let Err(why) = values::absolute_path(&f.mount) {
                let s = span(self, at(&["files", &i.to_string(), "mount"]), false);
                self.err(
                    "invalid-path",
                    format!("mount path `{}`: {why}", f.mount),
                    s,
                );
            }
            if !f.read_only {
                let s = span(self, at(&["files", &i.to_string(), "read_only"]), false);
                self.warn(
                    "writable-secret-mount",
                    format!("secret `{}` is mounted writable", f.secret),
                    s,
                )
                .help = Some(
                    "secret files should be mounted read-only; remove `read_only: false`".into(),
                );
            }
            let s = span(self, at(&["files", &i.to_string(), "secret"]), false);
            self.name("secret name", &f.secret, |_| s, true);
        }
        for (i, sref) in run.secrets.iter().enumerate() {
            let s = span(self, at(&["secrets", &i.to_string(), "secret"]), false);
            self.name("secret name", &sref.secret, |_| s, true);
        }
        if let Some(sa) = &run.service_account {
            let s = span(self, at(&["service_account"]), false);
            self.name("service account", sa, |_| s, true);
        }
        if let Some(a) = &run.autoscale
            && (a.min == 0 || a.min > a.max)
        {
            let s = span(self, at(&["autoscale"]), true);
            self.err(
                "invalid-autoscale",
                format!("autoscale min {} / max {} is not a range", a.min, a.max),
                s,
            )
            .help = Some("use 1 ≤ min ≤ max".into());
        }
        for (k, v) in &run.env {
            if let EnvValue::Literal(lit) = v {
                if looks_secret_name(k) {
                    let s = span(self, at(&["env", k]), false);
                    self.out.push(
                        Diagnostic::error(
                            "literal-secret",
                            format!("`{k}` looks like a secret but has a literal value; secret values never go in the intent"),
                        )
                        .at(s)
                        .label("literal value")
                        .help(format!(
                            "reference a Kubernetes Secret instead: `{k}: {{ secret: <secret-name>, key: {k} }}`, or list it under `run.secrets`"
                        )),
                    );
                } else if let Scalar::Str(text) = lit
                    && looks_secret_value(text)
                {
                    let s = span(self, at(&["env", k]), false);
                    self.err(
                        "literal-secret",
                        format!("the value of `{k}` looks like a credential"),
                        s,
                    )
                    .help = Some(format!(
                        "store it in a Kubernetes Secret and write `{k}: {{ secret: <secret-name>, key: {k} }}`"
                    ));
                }
            }
        }
    }

    fn dependencies(&mut self) {
        let intent: &'a Intent = self.intent;
        let services = &intent.services;
        let known: Vec<&str> = self
            .intent
            .libraries
            .keys()
            .chain(intent.services.keys())
            .map(String::as_str)
            .collect();
        // Membership through the maps (a search, not a scan of every name): with 1,000
        // services and their dependencies, scanning `known` was most of this pass. `known`
        // stays a list, in its order, for the suggestion.
        let is_known = |d: &str| intent.libraries.contains_key(d) || services.contains_key(d);
        for (name, svc) in services {
            for (i, d) in svc.depends_on.iter().enumerate() {
                if !is_known(d) {
                    let s = self
                        .loc
                        .value(&["services", name, "depends_on", &i.to_string()]);
                    let help = closest(d, known.iter().copied()).map_or_else(
                        || format!("define `{d}` under `libraries:` or `services:`"),
                        |c| format!("did you mean `{c}`?"),
                    );
                    self.err("unknown-dependency", format!("service `{name}` depends on `{d}`, which is neither a library nor a service"), s)
                        .help = Some(help);
                }
            }
        }
        // Cycles among services: report each cycle once, at its lexically first member.
        let graph: BTreeMap<&str, Vec<&str>> = services
            .iter()
            .map(|(n, s)| {
                (
                    n.as_str(),
                    s.depends_on
                        .iter()
                        .map(String::as_str)
                        .filter(|d| services.contains_key(*d))
                        .collect(),
                )
            })
            .collect();
        for cycle in find_cycles(&graph) {
            let first = cycle[0];
            let next = cycle.get(1).copied().unwrap_or(first);
            let idx = services[first]
                .depends_on
                .iter()
                .position(|d| d == next)
                .unwrap_or(0);
            let s = self
                .loc
                .value(&["services", first, "depends_on", &idx.to_string()]);
            let mut shown: Vec<&str> = cycle.clone();
            shown.push(first);
            self.err(
                "dependency-cycle",
                format!(
                    "services depend on each other in a cycle: {}",
                    shown.join(" → ")
                ),
                s,
            )
            .help = Some("remove one of these dependencies; shared code belongs in a library (`libraries:`) that both depend on".to_string());
        }
    }

    fn lanes(&mut self) {
        let intent: &'a Intent = self.intent;
        let eff: &'a EffectiveIntent = self.eff;
        let lanes = &intent.lanes;
        let names: Vec<&str> = lanes.keys().map(String::as_str).collect();
        for (name, lane) in lanes {
            self.name("lane name", name, |l| l.key(&["lanes", name]), true);
            if let Some(from) = &lane.from {
                if !lanes.contains_key(from) {
                    let s = self.loc.value(&["lanes", name, "from"]);
                    let help = closest(from, names.iter().copied()).map_or_else(
                        || format!("lanes are: {}", names.join(", ")),
                        |c| format!("did you mean `{c}`?"),
                    );
                    self.err(
                        "unknown-lane",
                        format!("lane `{name}` comes from `{from}`, which is not a lane"),
                        s,
                    )
                    .help = Some(help);
                } else if lanes[from].template {
                    let s = self.loc.value(&["lanes", name, "from"]);
                    self.err(
                        "from-template",
                        format!("lane `{name}` comes from template lane `{from}`"),
                        s,
                    )
                    .help = Some(
                        "releases flow between real lanes; make it come from a non-template lane"
                            .into(),
                    );
                }
            }
            let eff = &eff.lanes[name];
            // Namespaces: templates may use `{name}`; check them with a sample instance name.
            let ns = if lane.template {
                eff.namespace.replace("{name}", "pr-1")
            } else {
                eff.namespace.clone()
            };
            let nss = self.loc.value(&["lanes", name, "namespace"]);
            if !lane.template && eff.namespace.contains("{name}") {
                self.err(
                    "template-variable",
                    format!("lane `{name}` is not a template, so `{{name}}` has no value"),
                    nss,
                )
                .help = Some("only template lanes (`template: true`) have a `{name}`".into());
            } else if !ns.contains('{') {
                self.name("namespace", &ns, |_| nss, false);
            }
            if eff.gitops.repo.is_none() && !lane.template {
                let s = self.loc.key(&["lanes", name]);
                self.err(
                    "missing-gitops",
                    format!("lane `{name}` has no GitOps repository"),
                    s,
                )
                .help = Some(format!(
                    "add `gitops: {{ repo: …, branch: main, path: lanes/{name} }}` to the lane, or `defaults.gitops.repo`"
                ));
            }
            if lane.template {
                let path_has_name = eff.gitops.path.contains("{name}");
                if !path_has_name {
                    let s = self.loc.value(&["lanes", name, "gitops", "path"]);
                    self.err("template-path", format!("template lane `{name}` needs `{{name}}` in its GitOps path, or every instance writes to the same place"), s)
                        .help = Some(format!("write `gitops: {{ path: \"lanes/{name}/{{name}}\" }}`"));
                }
            } else if lane.ttl.is_some() {
                let s = self.loc.key(&["lanes", name, "ttl"]);
                self.warn(
                    "ttl-on-lane",
                    format!("`ttl` only applies to template lanes; lane `{name}` is not one"),
                    s,
                );
            }
            for (field, val) in [
                (
                    "gitops.branch",
                    lane.gitops.as_ref().and_then(|g| g.branch.clone()),
                ),
                ("source_branch", lane.source_branch.clone()),
                ("require_tag_on", lane.require_tag_on.clone()),
            ] {
                if let Some(b) = val
                    && let Err(why) = values::branch(&b)
                {
                    let parts: Vec<&str> = std::iter::once("lanes")
                        .chain(std::iter::once(name.as_str()))
                        .chain(field.split('.'))
                        .collect();
                    let s = self.loc.value(&parts);
                    self.err("invalid-branch", format!("`{b}`: {why}"), s);
                }
            }
            for (field, val) in [
                ("ttl", &lane.ttl),
                (
                    "rollout.pause",
                    &lane.rollout.as_ref().and_then(|r| r.pause.clone()),
                ),
            ] {
                if let Some(d) = val
                    && let Err(why) = values::duration(d)
                {
                    let parts: Vec<&str> = ["lanes", name.as_str()]
                        .into_iter()
                        .chain(field.split('.'))
                        .collect();
                    let s = self.loc.value(&parts);
                    self.err(
                        "invalid-duration",
                        format!("`{d}` is not a duration: {why}"),
                        s,
                    )
                    .help = Some("write durations like `30s`, `5m`, `72h` or `7d`".into());
                }
            }
            for (i, w) in lane.freeze.iter().enumerate() {
                if let Err(why) = values::freeze_window(w) {
                    let s = self.loc.value(&["lanes", name, "freeze", &i.to_string()]);
                    self.err(
                        "invalid-freeze",
                        format!("`{w}` is not a freeze window: {why}"),
                        s,
                    );
                }
            }
            if let Some(r) = &lane.rollout {
                let increasing = r.steps.windows(2).all(|w| w[0] < w[1]);
                if r.steps.is_empty() || !increasing || r.steps.iter().any(|s| *s == 0 || *s > 100)
                {
                    let s = self.loc.value(&["lanes", name, "rollout", "steps"]);
                    self.err(
                        "invalid-rollout",
                        "rollout steps must be increasing percentages from 1 to 100".into(),
                        s,
                    )
                    .help = Some("like `steps: [10, 50, 100]`".into());
                }
            }
            if let Some(a) = &lane.argocd {
                for (field, v) in [
                    ("project", &a.project),
                    ("application", &a.application),
                    ("namespace", &a.namespace),
                ] {
                    if let Some(v) = v {
                        let s = self.loc.value(&["lanes", name, "argocd", field]);
                        self.name(&format!("Argo CD {field}"), v, |_| s, field != "namespace");
                    }
                }
            }
            if let Some(list) = &lane.services {
                for (i, s) in list.iter().enumerate() {
                    if !intent.services.contains_key(s) {
                        let sp = self.loc.value(&["lanes", name, "services", &i.to_string()]);
                        let help = closest(s, intent.services.keys().map(String::as_str))
                            .map(|c| format!("did you mean `{c}`?"));
                        self.err(
                            "unknown-service",
                            format!("lane `{name}` deploys `{s}`, which is not a service"),
                            sp,
                        )
                        .help = help;
                    }
                }
            }
            if let Some(WriteMode::HelmValues(h)) = &lane.write
                && h.file.trim().is_empty()
            {
                let s = self.loc.value(&["lanes", name, "write"]);
                self.err("invalid-write", "helm-values needs a `file`".into(), s);
            }
            if lane.version.is_none() && lane.tags.iter().any(|t| t.contains("{version}")) {
                let i = lane
                    .tags
                    .iter()
                    .position(|t| t.contains("{version}"))
                    .unwrap_or(0);
                let s = self.loc.value(&["lanes", name, "tags", &i.to_string()]);
                self.err(
                    "unknown-template-variable",
                    format!("lane `{name}` has no `version`, so `{{version}}` has no value"),
                    s,
                )
                .help = Some(
                    "add `version: patch` (or minor/major) to the lane, or remove the tag".into(),
                );
            }
        }
        // Cycles in the lane graph.
        let graph: BTreeMap<&str, Vec<&str>> = lanes
            .iter()
            .map(|(n, l)| {
                (
                    n.as_str(),
                    l.from
                        .iter()
                        .map(String::as_str)
                        .filter(|f| lanes.contains_key(*f))
                        .collect(),
                )
            })
            .collect();
        for cycle in find_cycles(&graph) {
            let s = self.loc.value(&["lanes", cycle[0], "from"]);
            let mut shown = cycle.clone();
            shown.push(cycle[0]);
            self.err(
                "lane-cycle",
                format!(
                    "lanes come from each other in a cycle: {}",
                    shown.join(" ← ")
                ),
                s,
            )
            .help = Some(
                "one lane of the chain must have no `from` (it is fed by its source branch)".into(),
            );
        }
    }

    /// Every `{variable}` in every templated field, against what its context provides.
    fn templates(&mut self) {
        let intent: &'a Intent = self.intent;
        let eff: &'a EffectiveIntent = self.eff;
        let lanes = &eff.lanes;
        let defaults = intent.defaults.clone().unwrap_or_default();
        let build_vars = [
            "commit",
            "commit.short",
            "fingerprint",
            "fingerprint.short",
            "service",
            "project",
        ];
        if let Some(t) = &defaults.tag {
            self.template(&["defaults", "tag"], t, &build_vars, &[]);
        }
        // Registries are resolved per lane: every lane must define the lane variables they use.
        let all_lanes: Vec<&str> = lanes.keys().map(String::as_str).collect();
        if let Some(r) = &defaults.registry {
            self.template(&["defaults", "registry"], r, &["project"], &all_lanes);
        }
        for (name, lane) in &intent.lanes {
            let me = [name.as_str()];
            if let Some(r) = &lane.registry {
                self.template(&["lanes", name, "registry"], r, &["project"], &me);
            }
            let instance: &[&str] = if lane.template {
                &["name", "project"]
            } else {
                &["project"]
            };
            for (i, t) in lane.tags.iter().enumerate() {
                let mut allowed = vec!["commit", "commit.short", "project"];
                if lane.version.is_some() {
                    allowed.push("version");
                }
                if t.contains("{version}") && lane.version.is_none() {
                    continue; // reported by the lane rules with a better message
                }
                self.template(&["lanes", name, "tags", &i.to_string()], t, &allowed, &me);
            }
            if let Some(ns) = lane
                .namespace
                .as_ref()
                .filter(|ns| lane.template || !ns.contains("{name}"))
            {
                self.template(&["lanes", name, "namespace"], ns, instance, &[]);
            }
            if let Some(p) = lane.gitops.as_ref().and_then(|g| g.path.as_ref()) {
                self.template(&["lanes", name, "gitops", "path"], p, instance, &[]);
            }
            for (k, v) in &lane.vars {
                self.template(&["lanes", name, "vars", k], v, instance, &[]);
            }
            if let Some(WriteMode::HelmValues(h)) = &lane.write {
                self.template(
                    &["lanes", name, "write", "helm-values", "file"],
                    &h.file,
                    &["service", "project"],
                    &me,
                );
            }
        }
        // Service strings are rendered once per lane that deploys the service.
        for (sname, svc) in &intent.services {
            let deploying: Vec<&str> = lanes
                .values()
                .filter(|l| l.services.contains(sname))
                .map(|l| l.name.as_str())
                .collect();
            let allowed = ["project", "service"];
            if let Some(e) = &svc.expose {
                self.template(
                    &["services", sname, "expose", "host"],
                    &e.host,
                    &allowed,
                    &deploying,
                );
            }
            for (i, c) in svc.checks.iter().enumerate() {
                self.template(
                    &["services", sname, "checks", &i.to_string(), "url"],
                    &c.url,
                    &allowed,
                    &deploying,
                );
            }
            if let Some(run) = &svc.run {
                for (k, v) in &run.env {
                    if let EnvValue::Literal(Scalar::Str(s)) = v {
                        self.template(
                            &["services", sname, "run", "env", k],
                            s,
                            &allowed,
                            &deploying,
                        );
                    }
                }
            }
        }
    }

    /// Checks one template. `allowed` are the plain variables of its context; `{lane.X}` is
    /// allowed when every lane in `lanes` defines `X` (or it is `name`/`namespace`).
    fn template(&mut self, path: &[&str], text: &str, allowed: &[&str], lanes: &[&str]) {
        let eff: &'a EffectiveIntent = self.eff;
        let span = self.loc.value(path);
        let holes = match template::holes(text) {
            Ok(h) => h,
            Err(e) => {
                self.err("invalid-template", format!("`{text}`: {}", e.message), span)
                    .help = Some(
                    "variables are written `{name}`, like `{commit.short}` or `{lane.host_suffix}`"
                        .into(),
                );
                return;
            }
        };
        for h in holes {
            if let Some(var) = h.name.strip_prefix("lane.") {
                if lanes.is_empty() {
                    let hint = if allowed.is_empty() {
                        String::new()
                    } else {
                        format!("; here you can use {}", list(allowed))
                    };
                    self.err(
                        "unknown-template-variable",
                        format!("`{{{}}}` has no value here{hint}", h.name),
                        span,
                    );
                    continue;
                }
                if var == "name" || var == "namespace" {
                    continue;
                }
                let missing: Vec<&str> = lanes
                    .iter()
                    .copied()
                    .filter(|l| {
                        !self
                            .eff
                            .lanes
                            .get(*l)
                            .is_some_and(|e| e.vars.contains_key(var))
                    })
                    .collect();
                if !missing.is_empty() {
                    let known: BTreeSet<&str> = lanes
                        .iter()
                        .filter_map(|l| eff.lanes.get(*l))
                        .flat_map(|e| e.vars.keys().map(String::as_str))
                        .collect();
                    let help = closest(var, known.iter().copied()).map_or_else(
                        || {
                            format!(
                                "add `{var}` to `vars:` of lane {}",
                                missing
                                    .iter()
                                    .map(|m| format!("`{m}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        },
                        |c| format!("did you mean `{{lane.{c}}}`?"),
                    );
                    self.err(
                        "unknown-template-variable",
                        format!(
                            "`{{lane.{var}}}` is not defined for lane {}",
                            missing
                                .iter()
                                .map(|m| format!("`{m}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        span,
                    )
                    .help = Some(help);
                }
            } else if !allowed.contains(&h.name.as_str()) {
                let mut options: Vec<String> = allowed.iter().map(|a| (*a).to_owned()).collect();
                if !lanes.is_empty() {
                    options.push("lane.name".into());
                }
                let help = closest(&h.name, options.iter().map(String::as_str)).map_or_else(
                    || {
                        if options.is_empty() {
                            "this field takes no variables".to_owned()
                        } else {
                            format!(
                                "here you can use {}",
                                list(&options.iter().map(String::as_str).collect::<Vec<_>>())
                            )
                        }
                    },
                    |c| format!("did you mean `{{{c}}}`?"),
                );
                self.err(
                    "unknown-template-variable",
                    format!("`{{{}}}` is not a variable Shiplane knows here", h.name),
                    span,
                )
                .help = Some(help);
            }
        }
    }

    /// Credentials in addresses. An address is copied into rendered Argo CD objects, printed by
    /// `--show-effective` and committed, so a token in it would be published; Shiplane takes
    /// credentials from the environment instead.
    fn addresses(&mut self) {
        let intent: &'a Intent = self.intent;
        let mut found: Vec<(Vec<String>, &str, AddressKind)> = Vec::new();
        let p = |parts: &[&str]| parts.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        if let Some(d) = &intent.defaults {
            if let Some(r) = d.gitops.as_ref().and_then(|g| g.repo.as_deref()) {
                found.push((p(&["defaults", "gitops", "repo"]), r, AddressKind::Git));
            }
            if let Some(r) = d.registry.as_deref() {
                found.push((p(&["defaults", "registry"]), r, AddressKind::Registry));
            }
        }
        for (name, lane) in &intent.lanes {
            if let Some(r) = lane.gitops.as_ref().and_then(|g| g.repo.as_deref()) {
                found.push((p(&["lanes", name, "gitops", "repo"]), r, AddressKind::Git));
            }
            if let Some(r) = lane.registry.as_deref() {
                found.push((p(&["lanes", name, "registry"]), r, AddressKind::Registry));
            }
            for (k, v) in &lane.vars {
                found.push((p(&["lanes", name, "vars", k]), v, AddressKind::Url));
            }
        }
        for (name, svc) in &intent.services {
            for (i, c) in svc.checks.iter().enumerate() {
                let idx = i.to_string();
                found.push((
                    p(&["services", name, "checks", &idx, "url"]),
                    &c.url,
                    AddressKind::Url,
                ));
            }
            if let Some(e) = &svc.expose {
                found.push((
                    p(&["services", name, "expose", "host"]),
                    &e.host,
                    AddressKind::Url,
                ));
            }
            for (k, v) in svc.build.iter().flat_map(|b| &b.args) {
                found.push((
                    p(&["services", name, "build", "args", k]),
                    v,
                    AddressKind::Url,
                ));
            }
        }
        for (path, addr, kind) in found {
            let Some(what) = values::address_credential(addr, kind) else {
                continue;
            };
            let parts: Vec<&str> = path.iter().map(String::as_str).collect();
            let s = self.loc.value(&parts);
            let clean = values::without_credentials(addr);
            let (field, fix) = match kind {
                AddressKind::Git => (
                    "the GitOps repository address",
                    format!(
                        "write `{clean}` and give git its token in `SHIPLANE_GIT_TOKEN` (and `SHIPLANE_GIT_USERNAME`), or configure a git credential helper"
                    ),
                ),
                AddressKind::Registry => (
                    "the registry",
                    format!(
                        "write `{clean}`; Shiplane reads registry credentials from `SHIPLANE_REGISTRY_USERNAME` and `SHIPLANE_REGISTRY_PASSWORD`, or from Docker's config (`docker login`)"
                    ),
                ),
                AddressKind::Url => (
                    "this address",
                    format!(
                        "write `{clean}`; the intent is committed and its values are rendered into manifests, so keep credentials in a Kubernetes Secret or the environment"
                    ),
                ),
            };
            let d = self.err(
                "credential-in-address",
                format!("{field} has {what} in it; credentials never go in the intent"),
                s,
            );
            d.label = Some("credential".into());
            d.help = Some(fix);
        }
    }

    /// `GitOps` paths: each lane's directory and write-mode files are clean relative paths, and no
    /// two lanes (or a lane and Shiplane's own files) share a directory in one repository and
    /// branch — promoting one would silently overwrite the other.
    fn gitops_paths(&mut self) {
        let intent: &'a Intent = self.intent;
        let eff: &'a EffectiveIntent = self.eff;
        if let Some(b) = intent
            .defaults
            .as_ref()
            .and_then(|d| d.gitops.as_ref())
            .and_then(|g| g.branch.as_deref())
            && let Err(why) = values::branch(b)
        {
            let s = self.loc.value(&["defaults", "gitops", "branch"]);
            self.err("invalid-branch", format!("`{b}`: {why}"), s);
        }
        let mut clean: BTreeSet<&str> = BTreeSet::new();
        for (name, lane) in &intent.lanes {
            if let Some(path) = lane.gitops.as_ref().and_then(|g| g.path.as_deref())
                && let Err(why) = values::gitops_path(path)
            {
                let s = self.loc.value(&["lanes", name, "gitops", "path"]);
                self.err(
                    "invalid-gitops-path",
                    format!("GitOps path {}: {why}", shown(path)),
                    s,
                )
                .help = Some(format!(
                    "write a directory relative to the GitOps repository root, like `lanes/{name}`"
                ));
                continue;
            }
            clean.insert(name);
            let (key, file) = match &lane.write {
                Some(WriteMode::HelmValues(h)) => ("helm-values", &h.file),
                Some(WriteMode::KustomizeImages(k)) => ("kustomize-images", &k.file),
                _ => continue,
            };
            if file.trim().is_empty() {
                continue; // reported as `invalid-write`
            }
            let why = values::gitops_path(file).err().or_else(|| {
                ["release.json", "catalog.json", "state.json"]
                    .contains(&file.as_str())
                    .then(|| "it is one of Shiplane's own files in the lane's directory".to_owned())
            });
            if let Some(why) = why {
                let s = self.loc.value(&["lanes", name, "write", key, "file"]);
                self.err(
                    "invalid-gitops-path",
                    format!("write file {}: {why}", shown(file)),
                    s,
                )
                .help = Some(
                    "name a file relative to the lane's `gitops.path`, like `values.yaml`".into(),
                );
            }
        }
        // Footprints by (repository, branch): every lane whose path is clean, and Shiplane's own
        // files where the artifact index lives.
        let mut groups: BTreeMap<(String, &str), Vec<Footprint<'_>>> = BTreeMap::new();
        if let Some(at) = &eff.artifact_index {
            let key = (repo_key(&at.repo), at.branch.as_str());
            for (path, what) in crate::RESERVED_GITOPS_PATHS {
                groups.entry(key.clone()).or_default().push(Footprint {
                    owner: None,
                    what,
                    segments: path.split('/').map(Seg::literal).collect(),
                });
            }
        }
        for (name, lane) in &eff.lanes {
            let Some(repo) = lane.gitops.repo.as_deref() else {
                continue;
            };
            if !clean.contains(name.as_str()) {
                continue;
            }
            let filled = template::substitute(&lane.gitops.path, &|var| {
                (var == "project").then(|| intent.project.clone())
            });
            let mut segments: Vec<Seg> = filled.split('/').map(Seg::literal).collect();
            // A template's instances live at every name `env up` may be given, and its Argo CD
            // objects beside them: its footprint is the directory where `{name}` is, with that
            // segment standing for any name.
            if lane.template
                && let Some(i) = filled.split('/').position(|s| s.contains("{name}"))
            {
                segments.truncate(i + 1);
                if let Some((prefix, suffix)) = filled
                    .split('/')
                    .nth(i)
                    .and_then(|s| s.split_once("{name}"))
                {
                    segments[i] = Seg::Any {
                        prefix: prefix.to_owned(),
                        suffix: suffix.to_owned(),
                    };
                }
            }
            groups
                .entry((repo_key(repo), lane.gitops.branch.as_str()))
                .or_default()
                .push(Footprint {
                    owner: Some(name),
                    what: if lane.template {
                        "the instances of template lane"
                    } else {
                        "lane"
                    },
                    segments,
                });
        }
        let mut reported: BTreeSet<&str> = BTreeSet::new();
        for prints in groups.values() {
            for (i, a) in prints.iter().enumerate() {
                for b in &prints[i + 1..] {
                    if !overlaps(&a.segments, &b.segments) {
                        continue;
                    }
                    // Report at a lane that wrote its path (the default `lanes/<lane>` is
                    // rarely the mistake), once per lane.
                    let written = |f: &Footprint<'_>| {
                        f.owner.is_some_and(|o| {
                            intent.lanes[o]
                                .gitops
                                .as_ref()
                                .is_some_and(|g| g.path.is_some())
                        })
                    };
                    let (at, other) = if written(b) || a.owner.is_none() {
                        (b, a)
                    } else {
                        (a, b)
                    };
                    let Some(owner) = at.owner else { continue };
                    if !reported.insert(owner) {
                        continue;
                    }
                    let s = if written(at) {
                        self.loc.value(&["lanes", owner, "gitops", "path"])
                    } else {
                        self.loc.key(&["lanes", owner])
                    };
                    let theirs = match other.owner {
                        Some(o) => format!(
                            "{} `{o}` (`{}`)",
                            other.what,
                            shown_segments(&other.segments)
                        ),
                        None => format!("{} (`{}`)", other.what, shown_segments(&other.segments)),
                    };
                    self.err(
                        "gitops-path-overlap",
                        format!(
                            "lane `{owner}` writes to `{}`, which overlaps {theirs} in the same GitOps repository and branch; a promotion into one would overwrite the other",
                            shown_segments(&at.segments)
                        ),
                        s,
                    )
                    .help = Some(format!(
                        "give every lane a directory of its own, outside `artifacts/` and `registry/`, like `lanes/{owner}`"
                    ));
                }
            }
        }
    }

    fn notify(&mut self) {
        let intent: &'a Intent = self.intent;
        for (i, n) in intent.notify.iter().enumerate() {
            let count = usize::from(n.feishu.is_some())
                + usize::from(n.slack.is_some())
                + usize::from(n.webhook.is_some());
            if count != 1 {
                let s = self.loc.value(&["notify", &i.to_string()]);
                self.err("invalid-notify", format!("notification target {} must name exactly one of `feishu`, `slack` or `webhook` (it names {count})", i + 1), s)
                    .help = Some("write one list item per target".into());
            }
            let envs = [
                (
                    "feishu",
                    "webhook_env",
                    n.feishu.as_ref().map(|f| f.webhook_env.clone()),
                ),
                (
                    "feishu",
                    "secret_env",
                    n.feishu.as_ref().and_then(|f| f.secret_env.clone()),
                ),
                (
                    "slack",
                    "webhook_env",
                    n.slack.as_ref().map(|f| f.webhook_env.clone()),
                ),
                (
                    "webhook",
                    "url_env",
                    n.webhook.as_ref().map(|f| f.url_env.clone()),
                ),
                (
                    "webhook",
                    "secret_env",
                    n.webhook.as_ref().and_then(|f| f.secret_env.clone()),
                ),
            ];
            for (target, field, v) in envs {
                let Some(v) = v else { continue };
                let ok = !v.is_empty()
                    && v.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                    && !v.starts_with(|c: char| c.is_ascii_digit());
                if !ok {
                    let s = self.loc.value(&["notify", &i.to_string(), target, field]);
                    let looks_url = v.contains("://");
                    self.err(
                        "invalid-env-name",
                        format!(
                            "`{field}` names an environment variable; `{}` is not one",
                            if looks_url { "<a URL>" } else { v.as_str() }
                        ),
                        s,
                    )
                    .help = Some(if looks_url {
                        "never write webhook URLs or secrets in the intent: put it in an environment variable and name it here, like `FEISHU_WEBHOOK`".into()
                    } else {
                        "use upper-case letters, digits and `_`, like `FEISHU_WEBHOOK`".into()
                    });
                }
            }
        }
    }

    fn retention(&mut self) {
        let intent: &'a Intent = self.intent;
        let Some(r) = &intent.retention else {
            return;
        };
        if let Some(g) = &r.grace
            && let Err(why) = values::duration(g)
        {
            let s = self.loc.value(&["retention", "grace"]);
            self.err(
                "invalid-duration",
                format!("`{g}` is not a duration: {why}"),
                s,
            );
        }
        for (i, g) in r.keep_tags.iter().enumerate() {
            if globset::Glob::new(g).is_err() {
                let s = self.loc.value(&["retention", "keep_tags", &i.to_string()]);
                self.err("invalid-glob", format!("`{g}` is not a valid tag glob"), s);
            }
        }
        for (svc, o) in &r.services {
            if !intent.services.contains_key(svc) {
                let s = self.loc.key(&["retention", "services", svc]);
                let help = closest(svc, intent.services.keys().map(String::as_str))
                    .map(|c| format!("did you mean `{c}`?"));
                self.err(
                    "unknown-service",
                    format!("retention override for `{svc}`, which is not a service"),
                    s,
                )
                .help = help;
            }
            if let Some(g) = &o.grace
                && let Err(why) = values::duration(g)
            {
                let s = self.loc.value(&["retention", "services", svc, "grace"]);
                self.err(
                    "invalid-duration",
                    format!("`{g}` is not a duration: {why}"),
                    s,
                );
            }
        }
    }

    /// Warnings for things defined but never used.
    fn usage(&mut self) {
        let intent: &'a Intent = self.intent;
        let eff: &'a EffectiveIntent = self.eff;
        if eff.lanes.is_empty() {
            if !intent.services.is_empty() {
                let s = self.loc.key(&["lanes"]);
                self.warn(
                    "no-lanes",
                    "the intent has no lanes, so no service is deployed anywhere".into(),
                    s,
                )
                .help = Some(
                    "add a lane, like `lanes: { dev: { gitops: { repo: …, path: lanes/dev } } }`"
                        .into(),
                );
            }
        } else {
            let deployed: BTreeSet<&str> = eff
                .lanes
                .values()
                .flat_map(|l| l.services.iter().map(String::as_str))
                .collect();
            for name in intent
                .services
                .keys()
                .filter(|n| !deployed.contains(n.as_str()))
            {
                let s = self.loc.key(&["services", name]);
                self.warn("undeployed-service", format!("no lane deploys service `{name}`"), s).help =
                    Some("add it to a lane's `services:`, or remove the lane's `services:` list to deploy everything".into());
            }
        }
        let used: BTreeSet<&str> = intent
            .services
            .values()
            .flat_map(|s| s.depends_on.iter().map(String::as_str))
            .collect();
        for name in intent
            .libraries
            .keys()
            .filter(|n| !used.contains(n.as_str()))
        {
            let s = self.loc.key(&["libraries", name]);
            self.warn(
                "unused-library",
                format!("no service depends on library `{name}`"),
                s,
            )
            .help = Some(format!(
                "add `depends_on: [{name}]` to the services that use it, or remove it"
            ));
        }
    }
}

/// The part of a `GitOps` repository one lane (or Shiplane's own data) writes.
struct Footprint<'a> {
    /// The lane, or `None` for Shiplane's own files.
    owner: Option<&'a str>,
    /// What it is, for the message.
    what: &'static str,
    /// Its path, by segment; empty for the whole repository.
    segments: Vec<Seg>,
}

/// One segment of a footprint.
enum Seg {
    /// A directory or file name.
    Literal(String),
    /// A template's `{name}` segment: any instance name between `prefix` and `suffix`.
    Any { prefix: String, suffix: String },
}

impl Seg {
    fn literal(s: &str) -> Seg {
        Seg::Literal(s.to_owned())
    }

    /// Whether some path could have both at the same place.
    fn meets(&self, other: &Seg) -> bool {
        match (self, other) {
            (Seg::Literal(a), Seg::Literal(b)) => a == b,
            (Seg::Literal(l), Seg::Any { prefix, suffix })
            | (Seg::Any { prefix, suffix }, Seg::Literal(l)) => {
                l.len() > prefix.len() + suffix.len()
                    && l.starts_with(prefix.as_str())
                    && l.ends_with(suffix.as_str())
            }
            (
                Seg::Any {
                    prefix: p1,
                    suffix: s1,
                },
                Seg::Any {
                    prefix: p2,
                    suffix: s2,
                },
            ) => {
                (p1.starts_with(p2.as_str()) || p2.starts_with(p1.as_str()))
                    && (s1.ends_with(s2.as_str()) || s2.ends_with(s1.as_str()))
            }
        }
    }
}

/// Whether one path is (or could be) the other or a directory above it.
fn overlaps(a: &[Seg], b: &[Seg]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.meets(y))
}

/// A footprint as written, `{name}` where any instance name goes.
fn shown_segments(segments: &[Seg]) -> String {
    segments
        .iter()
        .map(|s| match s {
            Seg::Literal(l) => l.clone(),
            Seg::Any { prefix, suffix } => format!("{prefix}{{name}}{suffix}"),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Addresses that name the same repository compare equal: credentials, a trailing `/` and
/// `.git` do not make a different remote.
fn repo_key(repo: &str) -> String {
    let clean = values::without_credentials(repo.trim());
    let trimmed = clean.trim_end_matches('/');
    trimmed.strip_suffix(".git").unwrap_or(trimmed).to_owned()
}

/// A path in a message: control characters escaped, so a newline cannot forge output lines.
fn shown(path: &str) -> String {
    format!("`{}`", path.escape_debug())
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|a| format!("`{{{a}}}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether an environment variable name says it holds a secret.
fn looks_secret_name(k: &str) -> bool {
    let u = k.to_ascii_uppercase();
    u.contains("PASSWORD")
        || u.contains("PASSWD")
        || u.contains("TOKEN")
        || u.contains("SECRET")
        || u.ends_with("_KEY")
        || u == "KEY"
        || u.contains("PRIVATE_KEY")
        || u.contains("CREDENTIAL")
}

/// Whether a value looks like a credential whatever its name (private keys, common token
/// prefixes, URLs with a password).
fn looks_secret_value(v: &str) -> bool {
    v.contains("-----BEGIN") && v.contains("PRIVATE KEY")
        || [
            "ghp_",
            "gho_",
            "github_pat_",
            "glpat-",
            "xoxb-",
            "xoxp-",
            "AKIA",
            "sk-",
        ]
        .iter()
        .any(|p| v.starts_with(p) && v.len() >= 20)
        || url_with_password(v)
}

fn url_with_password(v: &str) -> bool {
    let Some((_, rest)) = v.split_once("://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    authority.split_once('@').is_some_and(|(userinfo, _)| {
        userinfo
            .split_once(':')
            .is_some_and(|(_, pw)| !pw.is_empty() && !pw.starts_with('$'))
    })
}

/// Elementary cycles reachable in `graph`, each rotated to start at its smallest member and
/// reported once.
fn find_cycles<'a>(graph: &BTreeMap<&'a str, Vec<&'a str>>) -> Vec<Vec<&'a str>> {
    let mut found: BTreeSet<Vec<&str>> = BTreeSet::new();
    for &start in graph.keys() {
        // Depth-first search for paths that return to `start` through nodes greater than it, so
        // each cycle is found from its smallest member only.
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        let mut path: Vec<&str> = vec![start];
        while let Some((node, i)) = stack.pop() {
            let next = graph.get(node).and_then(|n| n.get(i)).copied();
            match next {
                None => {
                    path.pop();
                }
                Some(n) => {
                    stack.push((node, i + 1));
                    if n == start {
                        found.insert(path.clone());
                    } else if n > start && !path.contains(&n) && path.len() < 64 {
                        path.push(n);
                        stack.push((n, 0));
                    }
                }
            }
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_found_once() {
        let g: BTreeMap<&str, Vec<&str>> = [
            ("a", vec!["b"]),
            ("b", vec!["c"]),
            ("c", vec!["a"]),
            ("d", vec!["d"]),
            ("e", vec!["a"]),
        ]
        .into_iter()
        .collect();
        assert_eq!(find_cycles(&g), vec![vec!["a", "b", "c"], vec!["d"]]);
    }

    #[test]
    fn secret_names() {
        for k in [
            "DB_PASSWORD",
            "API_TOKEN",
            "CLIENT_SECRET",
            "AWS_ACCESS_KEY",
            "password",
        ] {
            assert!(looks_secret_name(k), "{k}");
        }
        for k in ["NODE_ENV", "KEYCLOAK_URL", "PORT"] {
            assert!(!looks_secret_name(k), "{k}");
        }
        assert!(url_with_password("postgres://u:hunter2@db/x"));
        assert!(!url_with_password("https://example.com/a:b"));
    }
}
