//! The structural pass: the node tree against the intent's JSON Schema.
//!
//! It understands the subset of JSON Schema that `schemars` emits for our model (`$ref`, `type`,
//! `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`, `anyOf`, `oneOf`)
//! and reports in the user's terms: unknown keys with the closest valid key, wrong types with
//! how to write the right one, missing keys with what they mean. Value ranges and patterns are
//! deliberately left to `rules.rs`, which knows how to explain them.
//!
//! Everything that fails here is recorded as a path to leave out, so the typed model can still be
//! built from the rest and the semantic rules still run.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use serde_json::Value as J;

use crate::diagnostic::Diagnostic;
use crate::node::{Node, Span, Value, kind_name};

/// A path into the document: mapping keys and sequence indices, as strings.
pub(crate) type Path = Vec<String>;

/// The path being walked, borrowing key names from the tree (no allocation per key).
type WalkPath<'n> = Vec<Cow<'n, str>>;

/// Checks `root` against `schema`; returns the paths that failed and must be left out.
pub(crate) fn check(schema: &J, root: &Node, out: &mut Vec<Diagnostic>) -> BTreeSet<Path> {
    let mut w = Walker {
        root: schema,
        pruned: BTreeSet::new(),
        views: HashMap::default(),
    };
    let mut path = Vec::new();
    w.node(schema, root, &mut path, None, out);
    w.pruned
}

/// The tree as JSON, without the subtrees at `pruned` paths.
pub(crate) fn to_json_without(root: &Node, pruned: &BTreeSet<Path>) -> J {
    fn go(n: &Node, path: &mut Path, pruned: &BTreeSet<Path>) -> J {
        match &n.value {
            Value::Map(entries) => {
                let mut m = serde_json::Map::new();
                for (k, v) in entries {
                    path.push(k.name.clone());
                    if !pruned.contains(path) {
                        m.insert(k.name.clone(), go(v, path, pruned));
                    }
                    path.pop();
                }
                J::Object(m)
            }
            Value::Seq(items) => {
                let mut a = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    path.push(i.to_string());
                    if !pruned.contains(path) {
                        a.push(go(v, path, pruned));
                    }
                    path.pop();
                }
                J::Array(a)
            }
            _ => n.to_json(),
        }
    }
    if pruned.is_empty() {
        return root.to_json();
    }
    if pruned.contains(&Vec::new()) {
        return J::Null;
    }
    go(root, &mut Vec::new(), pruned)
}

/// `services.api.run` — how a path is shown to people.
pub(crate) fn show_path<S: AsRef<str>>(path: &[S]) -> String {
    if path.is_empty() {
        "the top level".to_owned()
    } else {
        let parts: Vec<&str> = path.iter().map(AsRef::as_ref).collect();
        format!("`{}`", parts.join("."))
    }
}

struct Walker<'s> {
    root: &'s J,
    pruned: BTreeSet<Path>,
    /// What the walk needs of each schema it meets, keyed by the schema's address. A thousand
    /// services meet the same few dozen schemas tens of thousands of times; looking their
    /// keywords up in `serde_json`'s maps (a `SipHash` and a string compare per keyword) each
    /// time was a fifth of `check` on a 1,000-service intent.
    views: HashMap<*const J, View<'s>, BuildHasherDefault<AddressHasher>>,
}

/// The keywords of one schema the walk reads, looked up once (after `$ref` resolution).
#[derive(Clone, Copy)]
struct View<'s> {
    /// The schema after following `$ref`s.
    resolved: &'s J,
    /// `anyOf`, else `oneOf`.
    branches: Option<&'s [J]>,
    /// `type`.
    ty: Option<&'s J>,
    /// `enum`.
    allowed: Option<&'s [J]>,
    /// `const`, when a string.
    constant: Option<&'s str>,
    /// `items`.
    items: Option<&'s J>,
    /// `properties`.
    props: Option<&'s serde_json::Map<String, J>>,
    /// `additionalProperties`.
    additional: Option<&'s J>,
    /// `required`.
    required: Option<&'s [J]>,
}

/// Hashes a schema's address: the keys are distinct live addresses, so mixing the bits once
/// (Fibonacci hashing) is enough.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The `type` keyword's names, without allocating.
fn types(schema: &J) -> Option<impl Iterator<Item = &str>> {
    type_names(schema.get("type"))
}

/// The names in a `type` keyword's value.
fn type_names(ty: Option<&J>) -> Option<impl Iterator<Item = &str>> {
    let (one, many): (Option<&str>, &[J]) = match ty? {
        J::String(s) => (Some(s.as_str()), &[]),
        J::Array(a) => (None, a.as_slice()),
        _ => return None,
    };
    Some(one.into_iter().chain(many.iter().filter_map(J::as_str)))
}

fn matches_type(t: &str, v: &Value) -> bool {
    matches!(
        (t, v),
        ("null", Value::Null)
            | ("boolean", Value::Bool(_))
            | ("integer", Value::Int(_))
            | ("number", Value::Int(_) | Value::Float(_))
            | ("string", Value::Str(_))
            | ("array", Value::Seq(_))
            | ("object", Value::Map(_))
    )
}

fn type_words(t: &str) -> &'static str {
    match t {
        "null" => "nothing",
        "boolean" => "`true` or `false`",
        "integer" => "a whole number",
        "number" => "a number",
        "string" => "a string",
        "array" => "a list",
        "object" => "a mapping",
        _ => "a value",
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The closest candidate to `word`, if any is close enough to be what was meant.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    let w = norm(word);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = if norm(c) == w {
            0
        } else {
            strsim::damerau_levenshtein(&w, &norm(c))
        };
        let limit = (word.chars().count() / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

const FORBIDDEN_IN_SERVICE: [&str; 5] = ["image", "tag", "digest", "image_tag", "image_digest"];

impl<'s> Walker<'s> {
    fn resolve(&self, mut schema: &'s J) -> &'s J {
        for _ in 0..16 {
            let Some(r) = schema.get("$ref").and_then(J::as_str) else {
                return schema;
            };
            let Some(name) = r.strip_prefix("#/$defs/") else {
                return schema;
            };
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(s) => schema = s,
                None => return schema,
            }
        }
        schema
    }

    /// The keywords of `schema` (after `$ref`s), from the cache.
    fn view(&mut self, schema: &'s J) -> View<'s> {
        if let Some(v) = self.views.get(&std::ptr::from_ref(schema)) {
            return *v;
        }
        let s = self.resolve(schema);
        let view = View {
            resolved: s,
            branches: s
                .get("anyOf")
                .or_else(|| s.get("oneOf"))
                .and_then(J::as_array)
                .map(Vec::as_slice),
            ty: s.get("type"),
            allowed: s.get("enum").and_then(J::as_array).map(Vec::as_slice),
            constant: s.get("const").and_then(J::as_str),
            items: s.get("items"),
            props: s.get("properties").and_then(J::as_object),
            additional: s.get("additionalProperties"),
            required: s.get("required").and_then(J::as_array).map(Vec::as_slice),
        };
        self.views.insert(std::ptr::from_ref(schema), view);
        view
    }

    fn accepts_type(&mut self, schema: &'s J, v: &Value) -> bool {
        let view = self.view(schema);
        if let Some(branches) = view.branches {
            return branches.iter().any(|b| self.accepts_type(b, v));
        }
        type_names(view.ty).is_none_or(|mut ts| ts.any(|t| matches_type(t, v)))
    }

    fn expected_words(&self, schema: &'s J) -> Vec<&'static str> {
        let s = self.resolve(schema);
        let mut out = Vec::new();
        if let Some(branches) = s
            .get("anyOf")
            .or_else(|| s.get("oneOf"))
            .and_then(J::as_array)
        {
            for b in branches {
                for w in self.expected_words(b) {
                    if !out.contains(&w) {
                        out.push(w);
                    }
                }
            }
        } else if let Some(ts) = types(s) {
            for t in ts {
                let w = type_words(t);
                if t != "null" && !out.contains(&w) {
                    out.push(w);
                }
            }
        }
        out
    }

    fn node<'n>(
        &mut self,
        schema: &'s J,
        node: &'n Node,
        path: &mut WalkPath<'n>,
        key: Option<Span>,
        out: &mut Vec<Diagnostic>,
    ) {
        let view = self.view(schema);
        let schema = view.resolved;
        if schema == &J::Bool(false) {
            self.fail(
                path,
                out,
                Diagnostic::error(
                    "not-allowed",
                    format!("{} is not allowed here", show_path(path)),
                )
                .at(key.unwrap_or(node.span)),
            );
            return;
        }
        if let Some(branches) = view.branches {
            self.branches(schema, branches, node, path, key, out);
            return;
        }
        if let Some(mut ts) = type_names(view.ty)
            && !ts.any(|t| matches_type(t, &node.value))
        {
            self.wrong_type(schema, node, path, out);
            return;
        }
        if let Some(allowed) = view.allowed {
            let text = scalar_text(&node.value);
            let ok = allowed
                .iter()
                .any(|a| a.as_str().is_some_and(|a| Some(a.to_owned()) == text));
            if !ok {
                self.bad_enum(
                    &allowed.iter().filter_map(J::as_str).collect::<Vec<_>>(),
                    node,
                    path,
                    out,
                );
                return;
            }
        }
        if let Some(c) = view.constant
            && scalar_text(&node.value).as_deref() != Some(c)
        {
            self.bad_enum(&[c], node, path, out);
            return;
        }
        match &node.value {
            Value::Map(_) => self.object(view, node, path, key, out),
            Value::Seq(items) => {
                if let Some(item_schema) = view.items {
                    for (i, item) in items.iter().enumerate() {
                        path.push(Cow::Owned(i.to_string()));
                        self.node(item_schema, item, path, None, out);
                        path.pop();
                    }
                }
            }
            _ => {}
        }
    }

    fn branches<'n>(
        &mut self,
        schema: &'s J,
        branches: &'s [J],
        node: &'n Node,
        path: &mut WalkPath<'n>,
        key: Option<Span>,
        out: &mut Vec<Diagnostic>,
    ) {
        let candidates: Vec<&J> = branches
            .iter()
            .filter(|b| self.accepts_type(b, &node.value))
            .collect();
        match candidates.as_slice() {
            [] => self.wrong_type(schema, node, path, out),
            [one] => self.node(one, node, path, key, out),
            many => {
                // Several branches take this kind of value (e.g. a string enum and a free string):
                // keep the first that fits without errors, else the one with the fewest.
                let mut best: Option<(Vec<Diagnostic>, BTreeSet<Path>)> = None;
                for b in many {
                    let mut scratch = Vec::new();
                    let saved = std::mem::take(&mut self.pruned);
                    self.node(b, node, path, key, &mut scratch);
                    let pruned = std::mem::replace(&mut self.pruned, saved);
                    let better = best.as_ref().is_none_or(|(d, _)| scratch.len() < d.len());
                    if better {
                        let done = scratch.is_empty();
                        best = Some((scratch, pruned));
                        if done {
                            break;
                        }
                    }
                }
                if let Some((diags, pruned)) = best {
                    out.extend(diags);
                    self.pruned.extend(pruned);
                }
            }
        }
    }

    fn object<'n>(
        &mut self,
        view: View<'s>,
        node: &'n Node,
        path: &mut WalkPath<'n>,
        key: Option<Span>,
        out: &mut Vec<Diagnostic>,
    ) {
        let props = view.props;
        let additional = view.additional;
        // A misspelt required key is one problem, not two: remember what unknown keys were
        // probably meant to be, and do not also report those as missing.
        let mut meant: Vec<&str> = Vec::new();
        for (k, v) in node.entries() {
            path.push(Cow::Borrowed(&k.name));
            if let Some(p) = props.and_then(|p| p.get(&k.name)) {
                self.node(p, v, path, Some(k.span), out);
            } else {
                match additional {
                    Some(J::Bool(false)) => {
                        if let Some(c) =
                            props.and_then(|p| closest(&k.name, p.keys().map(String::as_str)))
                        {
                            meant.push(c);
                        }
                        let d = self.unknown_key(props, &k.name, k.span, &path[..path.len() - 1]);
                        self.fail(path, out, d);
                    }
                    Some(extra @ J::Object(_)) => self.node(extra, v, path, Some(k.span), out),
                    _ => {}
                }
            }
            path.pop();
        }
        if let Some(required) = view.required {
            for r in required.iter().filter_map(J::as_str) {
                if node.get(r).is_none() && !meant.contains(&r) {
                    let what = props
                        .and_then(|p| p.get(r))
                        .map(|p| self.resolve(p))
                        .and_then(|p| p.get("description"))
                        .and_then(J::as_str)
                        .map(|d| {
                            format!("add `{r}:` ({})", d.trim_end_matches('.').to_lowercase())
                        });
                    let d = Diagnostic::error(
                        "missing-key",
                        format!("{} is missing `{r}`", show_path(path)),
                    )
                    .at(key.unwrap_or(node.span))
                    .maybe_help(what);
                    self.fail(path, out, d);
                }
            }
        }
    }

    fn unknown_key(
        &self,
        props: Option<&'s serde_json::Map<String, J>>,
        name: &str,
        span: Span,
        parent: &[Cow<'_, str>],
    ) -> Diagnostic {
        let in_service = parent.len() == 2 && parent[0] == "services";
        if in_service && FORBIDDEN_IN_SERVICE.contains(&name) {
            return Diagnostic::error(
                "forbidden-key",
                format!("`{name}` does not belong in the intent: images are recorded by digest, never written here"),
            )
            .at(span)
            .label("generated data in a hand-written file")
            .help("remove this line; CI records the image with `shiplane publish SERVICE --image REPO:TAG`, and promotion pins its digest in the GitOps repository");
        }
        let keys: Vec<&str> = props
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut help = closest(name, keys.iter().copied()).map(|c| format!("did you mean `{c}`?"));
        if help.is_none() {
            // A key written one level too high, like `port` directly under a service.
            for (pk, ps) in props.into_iter().flatten() {
                let inner = self.resolve_object(ps);
                if inner
                    .and_then(|i| i.get("properties"))
                    .and_then(|p| p.get(name))
                    .is_some()
                {
                    help = Some(format!(
                        "`{name}` belongs under `{pk}`: write `{pk}: {{ {name}: … }}`"
                    ));
                    break;
                }
            }
        }
        if help.is_none() && !keys.is_empty() {
            help = Some(format!(
                "valid keys here: {}",
                keys.iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Diagnostic::error(
            "unknown-key",
            format!("unknown key `{name}` in {}", show_path(parent)),
        )
        .at(span)
        .label("not a field here")
        .maybe_help(help)
    }

    /// The object schema behind `schema`, looking through `Option`'s `anyOf [T, null]`.
    fn resolve_object(&self, schema: &'s J) -> Option<&'s J> {
        let s = self.resolve(schema);
        if s.get("properties").is_some() {
            return Some(s);
        }
        s.get("anyOf")
            .or_else(|| s.get("oneOf"))
            .and_then(J::as_array)
            .and_then(|bs| bs.iter().find_map(|b| self.resolve_object(b)))
    }

    fn wrong_type<'n>(
        &mut self,
        schema: &'s J,
        node: &'n Node,
        path: &mut WalkPath<'n>,
        out: &mut Vec<Diagnostic>,
    ) {
        let expected = self.expected_words(schema);
        let expected_text = match expected.as_slice() {
            [] => "a different value".to_owned(),
            [one] => (*one).to_owned(),
            many => {
                let (last, rest) = many.split_last().unwrap_or((&"", &[]));
                format!("{} or {last}", rest.join(", "))
            }
        };
        let help = match (&node.value, expected.first()) {
            (Value::Str(s), Some(&"a list")) => Some(format!("write a list: `[{s}]`")),
            (Value::Int(i), Some(&"a string")) => Some(format!("quote it: `\"{i}\"`")),
            (Value::Null, _) => Some("give it a value, or remove the key".to_owned()),
            _ => None,
        };
        let d = Diagnostic::error(
            "wrong-type",
            format!(
                "{} must be {expected_text}, found {}",
                show_path(path),
                kind_name(&node.value)
            ),
        )
        .at(node.span)
        .maybe_help(help);
        self.fail(path, out, d);
    }

    fn bad_enum<'n>(
        &mut self,
        allowed: &[&str],
        node: &'n Node,
        path: &mut WalkPath<'n>,
        out: &mut Vec<Diagnostic>,
    ) {
        let text = scalar_text(&node.value).unwrap_or_default();
        let list = allowed
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let help = closest(&text, allowed.iter().copied()).map_or_else(
            || format!("use one of {list}"),
            |c| format!("did you mean `{c}`?"),
        );
        let d = Diagnostic::error(
            "invalid-value",
            format!(
                "`{text}` is not a valid value for {}; expected one of {list}",
                show_path(path)
            ),
        )
        .at(node.span)
        .help(help);
        self.fail(path, out, d);
    }

    fn fail(&mut self, path: &[Cow<'_, str>], out: &mut Vec<Diagnostic>, d: Diagnostic) {
        self.pruned
            .insert(path.iter().map(std::string::ToString::to_string).collect());
        out.push(d);
    }
}
