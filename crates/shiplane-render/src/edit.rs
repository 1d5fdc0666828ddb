//! In-place edits for the `helm-values` and `kustomize-images` write modes: set image keys in a
//! file a team keeps by hand, changing nothing else — not a comment, not the order of keys, not
//! the quoting of other values.
//!
//! An edit is a splice on the original text: the file is read with positions
//! ([`shiplane_intent::node::read`]), the characters of the edited scalars are replaced (or new
//! lines inserted), and everything else is copied byte for byte. After every edit both versions
//! are read again and compared as trees: the edit is refused unless the new tree is exactly the
//! old one with the intended values set. Anything the splice cannot do safely (block scalars,
//! anchors, keys under a flow mapping, a missing parent mapping) is an error that says what to
//! change by hand. This module knows YAML text, not what Shiplane writes into it.

use serde_json::{Map, Value};
use shiplane_intent::node::{self, Limits, Node, Pos, Span};

/// Why an edit was not made. The original text is never partly changed: an error means no edit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The original file does not parse.
    #[error("the file is not valid YAML (line {line}, column {col}): {message}")]
    Parse {
        /// The parser's message.
        message: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        col: u32,
    },
    /// The file (or the value at a path) is not a mapping where one is needed.
    #[error("`{path}` is not a mapping, so `{key}` cannot be set in it")]
    NotAMapping {
        /// Path of the value that should be a mapping (`.` for the document).
        path: String,
        /// The key to set.
        key: String,
    },
    /// A key path is empty or has an empty segment.
    #[error("`{path}` is not a dotted key path like `api.image.tag`")]
    InvalidPath {
        /// The path given.
        path: String,
    },
    /// A parent mapping of the key does not exist; only the last key is ever created.
    #[error(
        "`{missing}` does not exist, so `{path}` cannot be set; add `{missing}` to the file by hand"
    )]
    MissingParent {
        /// The full path.
        path: String,
        /// The first missing prefix.
        missing: String,
    },
    /// The value at a path is a mapping or a list, not a scalar.
    #[error("`{path}` holds a mapping or a list, not a single value")]
    NotAScalar {
        /// The path.
        path: String,
    },
    /// The value or place is written in a way a splice cannot change safely.
    #[error("`{path}` cannot be edited in place: {reason}")]
    Unsupported {
        /// The path.
        path: String,
        /// Why, and what to change by hand.
        reason: String,
    },
    /// The same path or image was given twice.
    #[error("`{what}` is edited twice in one change")]
    Duplicate {
        /// The path or image name.
        what: String,
    },
    /// An image edit is malformed.
    #[error("image `{name}`: {reason}")]
    InvalidImage {
        /// The image name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The edited text, read back, differs from the original in more than the intended values.
    /// This is a bug or a construct the splice did not foresee; nothing is written.
    #[error("refused: after the edit {detail}; the file was left unchanged")]
    Verification {
        /// What differed.
        detail: String,
    },
}

/// Sets scalar values at dotted key paths (`frontend.image.digest`) in a Helm values file.
///
/// Existing values keep their quoting style where the new value allows it; values a YAML reader
/// could take for a number or a boolean (`1.0`, `true`) are quoted. A missing *last* key is
/// created as a new line at the end of its parent block mapping; a missing parent is an error.
pub fn helm_values_edit(original: &str, edits: &[(&str, &str)]) -> Result<String, EditError> {
    let doc = Doc::read(original)?;
    let mut splices = Vec::new();
    let mut expected = doc.root.to_json();
    for (i, (path, value)) in edits.iter().enumerate() {
        if edits[..i].iter().any(|(p, _)| p == path) {
            return Err(EditError::Duplicate {
                what: (*path).to_owned(),
            });
        }
        let keys: Vec<&str> = path.split('.').collect();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(EditError::InvalidPath {
                path: (*path).to_owned(),
            });
        }
        let (parents, last) = keys.split_at(keys.len() - 1);
        let last = last[0];
        let mut cur = &doc.root;
        for (depth, key) in parents.iter().enumerate() {
            if !matches!(cur.value, node::Value::Map(_)) {
                return Err(EditError::NotAMapping {
                    path: prefix(&keys, depth),
                    key: (*key).to_owned(),
                });
            }
            cur = cur
                .get(key)
                .map(|(_, n)| n)
                .ok_or_else(|| EditError::MissingParent {
                    path: (*path).to_owned(),
                    missing: prefix(&keys, depth + 1),
                })?;
        }
        if !matches!(cur.value, node::Value::Map(_)) {
            return Err(EditError::NotAMapping {
                path: prefix(&keys, parents.len()),
                key: last.to_owned(),
            });
        }
        match cur.get(last) {
            Some((key, node)) => splices.push(doc.set_scalar(path, key.span, node, value)?),
            None => splices.push(doc.add_key(path, cur, last, value)?),
        }
        set_json(&mut expected, &keys, value);
    }
    let out = doc.apply(splices)?;
    verify(&out, &expected)?;
    Ok(out)
}

/// Sets `images:` entries of a kustomization: for each `(name, new_name, digest)` the entry
/// with that `name` gets `newName` and `digest` (added when missing); an image without an entry
/// gets a new one at the end of the list, and a file without `images:` gets the list.
///
/// Other keys of an entry (a `newTag`, for instance) are left as they are: kustomize uses the
/// digest when one is set.
pub fn kustomize_images_edit(
    original: &str,
    images: &[(&str, &str, &str)],
) -> Result<String, EditError> {
    let doc = Doc::read(original)?;
    if !matches!(doc.root.value, node::Value::Map(_)) {
        return Err(EditError::NotAMapping {
            path: ".".into(),
            key: "images".into(),
        });
    }
    for (i, (name, new_name, digest)) in images.iter().enumerate() {
        check_image_edit(name, new_name, digest)?;
        if images[..i].iter().any(|(n, _, _)| n == name) {
            return Err(EditError::Duplicate {
                what: (*name).to_owned(),
            });
        }
    }
    let mut expected = doc.root.to_json();
    let mut splices = Vec::new();
    let mut appended: Vec<(&str, &str, &str)> = Vec::new();
    let list = doc.root.get("images");
    for &(name, new_name, digest) in images {
        set_image_json(&mut expected, name, new_name, digest);
        let Some((_, list)) = list else {
            appended.push((name, new_name, digest));
            continue;
        };
        let node::Value::Seq(items) = &list.value else {
            appended.push((name, new_name, digest));
            continue;
        };
        let matching: Vec<&Node> = items
            .iter()
            .filter(|item| item.get("name").and_then(|(_, n)| n.as_str()) == Some(name))
            .collect();
        match matching.as_slice() {
            [] => appended.push((name, new_name, digest)),
            [item] => {
                for (field, value) in [("newName", new_name), ("digest", digest)] {
                    let path = format!("images[name={name}].{field}");
                    match item.get(field) {
                        Some((key, n)) => splices.push(doc.set_scalar(&path, key.span, n, value)?),
                        None => splices.push(doc.add_key(&path, item, field, value)?),
                    }
                }
            }
            _ => {
                return Err(EditError::Unsupported {
                    path: format!("images[name={name}]"),
                    reason: "the list has more than one entry with this name; keep one".into(),
                });
            }
        }
    }
    if !appended.is_empty() {
        splices.push(doc.append_images(list, &appended)?);
    }
    let out = doc.apply(splices)?;
    verify(&out, &expected)?;
    Ok(out)
}

fn check_image_edit(name: &str, new_name: &str, digest: &str) -> Result<(), EditError> {
    let bad = |reason: &str| EditError::InvalidImage {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    if name.is_empty() || new_name.is_empty() {
        return Err(bad("name and new name must not be empty"));
    }
    if name
        .chars()
        .chain(new_name.chars())
        .any(char::is_whitespace)
    {
        return Err(bad("names must not contain whitespace"));
    }
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() != 64
        || !hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        return Err(bad(
            "the digest must be `sha256:` and 64 lowercase hex digits",
        ));
    }
    Ok(())
}

fn prefix(keys: &[&str], n: usize) -> String {
    if n == 0 {
        ".".to_owned()
    } else {
        keys[..n].join(".")
    }
}

/// One replacement of `original[start..end]`.
struct Splice {
    start: usize,
    end: usize,
    text: String,
}

/// The original text, its tree and a way from positions to byte offsets.
struct Doc<'a> {
    text: &'a str,
    root: Node,
    line_starts: Vec<usize>,
    newline: &'static str,
}

impl<'a> Doc<'a> {
    fn read(text: &'a str) -> Result<Self, EditError> {
        let root = parse(text)?;
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Ok(Doc {
            text,
            root,
            line_starts,
            newline: if text.contains("\r\n") { "\r\n" } else { "\n" },
        })
    }

    /// Byte offset of a 1-based (line, character column) position.
    fn offset(&self, p: Pos) -> usize {
        let Some(&start) = usize::try_from(p.line)
            .ok()
            .and_then(|l| l.checked_sub(1))
            .and_then(|l| self.line_starts.get(l))
        else {
            return self.text.len();
        };
        let col = usize::try_from(p.col).unwrap_or(1).saturating_sub(1);
        self.text[start..]
            .char_indices()
            .nth(col)
            .map_or(self.text.len(), |(i, _)| start + i)
    }

    /// The text of a line (without its line break), 1-based.
    fn line(&self, line: u32) -> &'a str {
        let l = usize::try_from(line)
            .unwrap_or(usize::MAX)
            .saturating_sub(1);
        let Some(&start) = self.line_starts.get(l) else {
            return "";
        };
        let end = self
            .line_starts
            .get(l + 1)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// Replaces the scalar `node` (the value of the key at `key_span`) with `value`.
    fn set_scalar(
        &self,
        path: &str,
        key_span: Span,
        node: &Node,
        value: &str,
    ) -> Result<Splice, EditError> {
        let unsupported = |reason: &str| EditError::Unsupported {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        if matches!(node.value, node::Value::Map(_) | node::Value::Seq(_)) {
            return Err(EditError::NotAScalar {
                path: path.to_owned(),
            });
        }
        let key_end = self.offset(key_span.end);
        let start = self.offset(node.span.start);
        let end = self.offset(node.span.end);
        if start < key_end {
            // An alias or a shared anchor points the value elsewhere in the file.
            return Err(unsupported(
                "the value comes from a YAML alias; write the value out",
            ));
        }
        let between = &self.text[key_end..start];
        if start == end && matches!(node.value, node::Value::Null) {
            // `key:` with nothing after it: the empty value sits at the colon.
            if !self.text[key_end..].starts_with(':') {
                return Err(unsupported("unexpected text after the key"));
            }
            return Ok(Splice {
                start: key_end + 1,
                end: key_end + 1,
                text: format!(" {}", render_scalar(value, None)),
            });
        }
        if between.trim() != ":" || between.contains('\n') {
            return Err(unsupported(
                "the value is a block scalar or is not on the key's line; write it as `key: value`",
            ));
        }
        // The parser's end of a quoted scalar can run past trailing spaces and a comment: find
        // the closing quote ourselves.
        let end = quoted_end(self.text, start).unwrap_or(end);
        let written = &self.text[start..end];
        if written.contains('\n') {
            return Err(unsupported("the value spans several lines"));
        }
        if written.starts_with(['&', '*', '!']) {
            return Err(unsupported(
                "the value has an anchor, alias or tag; write the value out",
            ));
        }
        Ok(Splice {
            start,
            end,
            text: render_scalar(value, written.chars().next()),
        })
    }

    /// Adds `key: value` as the last entry of the block mapping `parent`.
    fn add_key(
        &self,
        path: &str,
        parent: &Node,
        key: &str,
        value: &str,
    ) -> Result<Splice, EditError> {
        let unsupported = |reason: &str| EditError::Unsupported {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let entries = parent.entries();
        let Some((first, _)) = entries.first() else {
            return Err(unsupported(
                "its mapping is empty; Shiplane only adds keys next to existing ones, so add it by hand",
            ));
        };
        if self.text[self.offset(parent.span.start)..].starts_with('{') {
            return Err(unsupported(
                "its mapping is written in flow style (`{ … }`); add the key by hand or use block style",
            ));
        }
        let indent = " ".repeat(usize::try_from(first.span.start.col).unwrap_or(1) - 1);
        let at = self.after_subtree(parent);
        let mut text = String::new();
        if at == self.text.len() && !self.text.is_empty() && !self.text.ends_with('\n') {
            text.push_str(self.newline);
        }
        text.push_str(&indent);
        text.push_str(&render_scalar(key, None));
        text.push_str(": ");
        text.push_str(&render_scalar(value, None));
        text.push_str(self.newline);
        Ok(Splice {
            start: at,
            end: at,
            text,
        })
    }

    /// Appends new `images:` entries (or the whole list).
    fn append_images(
        &self,
        list: Option<(&node::Key, &Node)>,
        images: &[(&str, &str, &str)],
    ) -> Result<Splice, EditError> {
        let entry = |dash: &str, keys: &str, (n, nn, d): (&str, &str, &str)| {
            let nl = self.newline;
            format!(
                "{dash}- name: {}{nl}{keys}newName: {}{nl}{keys}digest: {}{nl}",
                render_scalar(n, None),
                render_scalar(nn, None),
                render_scalar(d, None)
            )
        };
        match list {
            None => {
                let mut text = String::new();
                if !self.text.is_empty() && !self.text.ends_with('\n') {
                    text.push_str(self.newline);
                }
                text.push_str("images:");
                text.push_str(self.newline);
                for &img in images {
                    text.push_str(&entry("", "  ", img));
                }
                Ok(Splice {
                    start: self.text.len(),
                    end: self.text.len(),
                    text,
                })
            }
            Some((key, node)) => {
                let key_indent = " ".repeat(usize::try_from(key.span.start.col).unwrap_or(1) - 1);
                let key_end = self.offset(key.span.end);
                let value_start = self.offset(node.span.start);
                let empty_flow = node.items().is_empty()
                    && self.text[value_start..].starts_with('[')
                    && self.text[value_start + 1..].trim_start().starts_with(']');
                if matches!(node.value, node::Value::Null) || empty_flow {
                    // `images:` or `images: []`: replace the empty value with a block list.
                    let end = if empty_flow {
                        value_start
                            + 1
                            + self.text[value_start + 1..].find(']').unwrap_or_default()
                            + 1
                    } else {
                        key_end + 1
                    };
                    if !self.text[key_end..].starts_with(':') {
                        return Err(EditError::Unsupported {
                            path: "images".into(),
                            reason: "unexpected text after `images`".into(),
                        });
                    }
                    let mut text = format!(":{}", self.newline);
                    let inner = format!("{key_indent}  ");
                    for &img in images {
                        text.push_str(&entry(&key_indent, &inner, img));
                    }
                    // Drop the line break the replaced value was followed by, we wrote one.
                    let mut end = end;
                    if self.text[end..].starts_with(self.newline) {
                        end += self.newline.len();
                    }
                    return Ok(Splice {
                        start: key_end,
                        end,
                        text,
                    });
                }
                let Some(first) = node.items().first() else {
                    return Err(EditError::Unsupported {
                        path: "images".into(),
                        reason: "`images` is not a list".into(),
                    });
                };
                if self.text[value_start..].starts_with('[') {
                    return Err(EditError::Unsupported {
                        path: "images".into(),
                        reason: "the list is written in flow style (`[ … ]`); use a block list"
                            .into(),
                    });
                }
                // The dash of the first item is left of the item's content on its line.
                let line = self.line(first.span.start.line);
                let item_col = usize::try_from(first.span.start.col).unwrap_or(1) - 1;
                let before: String = line.chars().take(item_col).collect();
                let Some(dash) = before.rfind('-') else {
                    return Err(EditError::Unsupported {
                        path: "images".into(),
                        reason: "could not find the list's `-` markers".into(),
                    });
                };
                let dash_indent = " ".repeat(before[..dash].chars().count());
                let key_pad = " ".repeat(item_col);
                let at = self.after_subtree(node);
                let mut text = String::new();
                if at == self.text.len() && !self.text.ends_with('\n') {
                    text.push_str(self.newline);
                }
                for &img in images {
                    text.push_str(&entry(&dash_indent, &key_pad, img));
                }
                Ok(Splice {
                    start: at,
                    end: at,
                    text,
                })
            }
        }
    }

    /// Byte offset of the start of the line after the last line of `node`'s subtree.
    fn after_subtree(&self, node: &Node) -> usize {
        let end = subtree_end(node);
        let mut line = end.line;
        // A block scalar's end is reported at the start of the next entry's line.
        let col = usize::try_from(end.col).unwrap_or(1) - 1;
        if self.line(line).chars().take(col).all(char::is_whitespace) && line > 1 {
            line -= 1;
        }
        usize::try_from(line)
            .ok()
            .and_then(|l| self.line_starts.get(l))
            .copied()
            .unwrap_or(self.text.len())
    }

    fn apply(&self, mut splices: Vec<Splice>) -> Result<String, EditError> {
        // Stable: insertions at the same place keep the order of the edits.
        splices.sort_by_key(|s| s.start);
        let mut out = String::with_capacity(self.text.len() + 256);
        let mut at = 0;
        for s in &splices {
            if s.start < at {
                return Err(EditError::Verification {
                    detail: "two edits touch the same text".into(),
                });
            }
            out.push_str(&self.text[at..s.start]);
            out.push_str(&s.text);
            at = s.end;
        }
        out.push_str(&self.text[at..]);
        Ok(out)
    }
}

/// The byte offset just past the closing quote of a quoted scalar starting at `start`, when it
/// closes on the same line.
fn quoted_end(text: &str, start: usize) -> Option<usize> {
    let rest = &text[start..];
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let mut chars = rest.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\n' => return None,
            '\\' if quote == '"' => {
                chars.next();
            }
            c if c == quote => {
                // `''` inside a single-quoted scalar is an escaped quote.
                if quote == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') {
                    chars.next();
                    continue;
                }
                return Some(start + i + 1);
            }
            _ => {}
        }
    }
    None
}

/// The furthest position any key or value of a subtree reaches.
fn subtree_end(node: &Node) -> Pos {
    let mut end = node.span.end;
    match &node.value {
        node::Value::Map(entries) => {
            for (k, v) in entries {
                end = end.max(k.span.end).max(subtree_end(v));
            }
        }
        node::Value::Seq(items) => {
            for v in items {
                end = end.max(subtree_end(v));
            }
        }
        _ => {}
    }
    end
}

fn parse(text: &str) -> Result<Node, EditError> {
    let limits = Limits {
        max_bytes: 16 * 1024 * 1024,
        max_depth: 128,
        max_nodes: 1_000_000,
    };
    node::read(text, limits).map_err(|e| {
        let p = e.span().map(|s| s.start).unwrap_or_default();
        EditError::Parse {
            message: e.to_string(),
            line: p.line,
            col: p.col,
        }
    })
}

/// A scalar's text: plain when a reader takes it back as this exact string, otherwise quoted —
/// in the style the old value used (`'` or `"`) when given.
fn render_scalar(value: &str, old_first: Option<char>) -> String {
    match old_first {
        Some('"') => return double_quoted(value),
        Some('\'') if !value.chars().any(char::is_control) => {
            return format!("'{}'", value.replace('\'', "''"));
        }
        _ => {}
    }
    if plain_safe(value) {
        value.to_owned()
    } else {
        double_quoted(value)
    }
}

fn double_quoted(value: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar with the same value.
    serde_json::to_string(value).unwrap_or_else(|_| format!("\"{value}\""))
}

fn plain_safe(value: &str) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || first == '/' || first == '.')
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/:@+-".contains(c))
        || value.ends_with(':')
    {
        return false;
    }
    // Whatever the characters, the reader must resolve it as this very string (not `1.0`,
    // `true`, `null`, `0x1F`).
    parse(&format!("k: {value}\n"))
        .is_ok_and(|n| n.get("k").is_some_and(|(_, v)| v.as_str() == Some(value)))
}

/// Sets `keys` to a string in a JSON tree (creating the last key).
fn set_json(root: &mut Value, keys: &[&str], value: &str) {
    let mut cur = root;
    for key in keys {
        let Value::Object(map) = cur else { return };
        cur = map.entry((*key).to_owned()).or_insert(Value::Null);
    }
    *cur = Value::String(value.to_owned());
}

/// What a kustomization's JSON must look like after an image edit.
fn set_image_json(root: &mut Value, name: &str, new_name: &str, digest: &str) {
    let Value::Object(map) = root else { return };
    let list = map
        .entry("images".to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if list.is_null() {
        *list = Value::Array(Vec::new());
    }
    let Value::Array(items) = list else { return };
    if let Some(Value::Object(item)) = items
        .iter_mut()
        .find(|i| i.get("name").and_then(Value::as_str) == Some(name))
    {
        item.insert("newName".into(), Value::String(new_name.to_owned()));
        item.insert("digest".into(), Value::String(digest.to_owned()));
    } else {
        let mut item = Map::new();
        item.insert("name".into(), Value::String(name.to_owned()));
        item.insert("newName".into(), Value::String(new_name.to_owned()));
        item.insert("digest".into(), Value::String(digest.to_owned()));
        items.push(Value::Object(item));
    }
}

/// Reads the edited text back and compares it with what the edit should have produced.
fn verify(edited: &str, expected: &Value) -> Result<(), EditError> {
    let got = parse(edited)
        .map_err(|e| EditError::Verification {
            detail: format!("the file no longer parses ({e})"),
        })?
        .to_json();
    if &got == expected {
        return Ok(());
    }
    Err(EditError::Verification {
        detail: first_difference(expected, &got, "").map_or_else(
            || "the document differs from the intended one".to_owned(),
            |p| format!("`{p}` is not what was intended"),
        ),
    })
}

/// The path of the first place two JSON trees differ.
fn first_difference(want: &Value, got: &Value, at: &str) -> Option<String> {
    let join = |key: &str| {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    };
    match (want, got) {
        (Value::Object(want_map), Value::Object(got_map)) => {
            for (key, want_value) in want_map {
                match got_map.get(key) {
                    Some(got_value) => {
                        if let Some(d) = first_difference(want_value, got_value, &join(key)) {
                            return Some(d);
                        }
                    }
                    None => return Some(join(key)),
                }
            }
            got_map
                .keys()
                .find(|key| !want_map.contains_key(*key))
                .map(|key| join(key))
        }
        (Value::Array(want_items), Value::Array(got_items))
            if want_items.len() == got_items.len() =>
        {
            want_items
                .iter()
                .zip(got_items)
                .enumerate()
                .find_map(|(i, (w, g))| first_difference(w, g, &format!("{at}[{i}]")))
        }
        _ if want == got => None,
        _ => Some(if at.is_empty() {
            ".".to_owned()
        } else {
            at.to_owned()
        }),
    }
}
