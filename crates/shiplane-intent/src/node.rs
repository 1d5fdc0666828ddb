//! A YAML/JSON document as a tree of nodes that remember where they came from.
//!
//! Serde deserializers stop at the first problem and forget positions; `shiplane check` must
//! report every problem at its line and column. So the intent is first read into this small
//! span-carrying tree, every check runs over it, and only then is the typed model built.
//!
//! Reading is bounded by [`Limits`]: input size, nesting depth, node count and the number of
//! nodes that aliases may expand to (a "billion laughs" bomb is refused, not expanded). The
//! builder uses an explicit stack, so deep nesting cannot overflow the thread's stack.
//!
//! JSON is read by the same parser: JSON is (for every document Shiplane accepts) valid YAML 1.2,
//! and reading both through one path gives JSON files the same precise positions.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YSpan};

/// A position in the source: 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
}

/// A half-open range of the source, `start` inclusive and `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    /// First character.
    pub start: Pos,
    /// One past the last character.
    pub end: Pos,
}

impl Span {
    fn from_yaml(s: YSpan) -> Self {
        Span {
            start: pos(s.start),
            end: pos(s.end),
        }
    }
}

fn pos(m: saphyr_parser::Marker) -> Pos {
    Pos {
        line: u32::try_from(m.line()).unwrap_or(u32::MAX),
        col: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
    }
}

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A finite floating-point number.
    Float(f64),
    /// A string (any quoted scalar, or a plain scalar that is not another type).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order. Keys are unique (duplicates are a parse error).
    Map(Vec<(Key, Node)>),
}

/// A mapping key: always a string, with its own position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where the key is written.
    pub span: Span,
}

/// A value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the value is written. For a mapping or sequence this covers its first token.
    pub span: Span,
    /// Number of nodes in this subtree (itself included); used to bound alias expansion.
    pub size: usize,
}

/// What a node is, in words a user understands ("a list", "a string").
#[must_use]
pub fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a mapping",
    }
}

impl Node {
    /// The entries of a mapping node, or an empty slice.
    #[must_use]
    pub fn entries(&self) -> &[(Key, Node)] {
        match &self.value {
            Value::Map(m) => m,
            _ => &[],
        }
    }

    /// The entry under `key` in a mapping node.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<(&Key, &Node)> {
        self.entries()
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, v)| (k, v))
    }

    /// The items of a sequence node, or an empty slice.
    #[must_use]
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(s) => s,
            _ => &[],
        }
    }

    /// The string value, if this node is a string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Converts the tree into JSON, for typed deserialization.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Bounds on what the reader accepts. The defaults are far above any real intent file.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most nodes the document may hold after alias expansion.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 64,
            max_nodes: 200_000,
        }
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    /// The input is larger than [`Limits::max_bytes`].
    #[error("the file is {size} bytes; intent files are limited to {limit} bytes")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Nesting deeper than [`Limits::max_depth`].
    #[error("nesting is deeper than {limit} levels")]
    TooDeep {
        /// Where the limit was crossed.
        span: Span,
        /// The limit.
        limit: usize,
    },
    /// More nodes (after alias expansion) than [`Limits::max_nodes`].
    #[error("the document expands to more than {limit} values (an alias bomb?)")]
    TooManyNodes {
        /// Where the limit was crossed.
        span: Span,
        /// The limit.
        limit: usize,
    },
    /// Invalid YAML or JSON syntax.
    #[error("{message}")]
    Syntax {
        /// The parser's message.
        message: String,
        /// Where.
        span: Span,
    },
    /// The same key twice in one mapping.
    #[error("duplicate key `{key}`")]
    DuplicateKey {
        /// The key.
        key: String,
        /// The second occurrence.
        span: Span,
        /// The first occurrence.
        first: Span,
    },
    /// A key that is not a plain string.
    #[error("mapping keys must be plain strings")]
    ComplexKey {
        /// Where.
        span: Span,
    },
    /// More than one document in the stream.
    #[error("the file holds more than one YAML document")]
    MultipleDocuments {
        /// Start of the second document.
        span: Span,
    },
    /// An alias to an anchor that was not defined.
    #[error("alias refers to an unknown anchor")]
    UnknownAnchor {
        /// Where.
        span: Span,
    },
}

impl ReadError {
    /// Where the problem is, when it has a position.
    #[must_use]
    pub fn span(&self) -> Option<Span> {
        match self {
            ReadError::TooLarge { .. } => None,
            ReadError::TooDeep { span, .. }
            | ReadError::TooManyNodes { span, .. }
            | ReadError::Syntax { span, .. }
            | ReadError::DuplicateKey { span, .. }
            | ReadError::ComplexKey { span }
            | ReadError::MultipleDocuments { span }
            | ReadError::UnknownAnchor { span } => Some(*span),
        }
    }
}

enum Frame {
    Seq {
        span: Span,
        anchor: usize,
        items: Vec<Node>,
        size: usize,
    },
    Map {
        span: Span,
        anchor: usize,
        entries: Vec<(Key, Node)>,
        pending_key: Option<Key>,
        size: usize,
        index: HashMap<String, usize>,
    },
}

/// Reads one YAML (or JSON) document into a [`Node`] tree, within `limits`.
///
/// An empty document reads as a `Null` node.
pub fn read(src: &str, limits: Limits) -> Result<Node, ReadError> {
    if src.len() > limits.max_bytes {
        return Err(ReadError::TooLarge {
            size: src.len(),
            limit: limits.max_bytes,
        });
    }
    let mut parser = Parser::new_from_str(src);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut total = 0usize;
    let mut root: Option<Node> = None;
    let mut documents = 0usize;

    while let Some(ev) = parser.next_event() {
        let (event, yspan) = ev.map_err(|e| {
            let p = pos(*e.marker());
            let span = Span { start: p, end: p };
            // The scanner has its own nesting guard for flow collections; it is the same refusal.
            if e.info().contains("recursion limit") {
                ReadError::TooDeep {
                    span,
                    limit: limits.max_depth,
                }
            } else {
                ReadError::Syntax {
                    message: e.info().to_owned(),
                    span,
                }
            }
        })?;
        let span = Span::from_yaml(yspan);
        let completed: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => None,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(ReadError::MultipleDocuments { span });
                }
                None
            }
            Event::Alias(id) => {
                let target = anchors.get(&id).ok_or(ReadError::UnknownAnchor { span })?;
                total = total.saturating_add(target.size);
                if total > limits.max_nodes {
                    return Err(ReadError::TooManyNodes {
                        span,
                        limit: limits.max_nodes,
                    });
                }
                Some((target.clone(), 0))
            }
            Event::Scalar(text, style, anchor, tag) => {
                total += 1;
                if total > limits.max_nodes {
                    return Err(ReadError::TooManyNodes {
                        span,
                        limit: limits.max_nodes,
                    });
                }
                let explicit_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !explicit_str {
                    resolve_plain(&text)
                } else {
                    Value::Str(text.into_owned())
                };
                Some((
                    Node {
                        value,
                        span,
                        size: 1,
                    },
                    anchor,
                ))
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                total += 1;
                if total > limits.max_nodes {
                    return Err(ReadError::TooManyNodes {
                        span,
                        limit: limits.max_nodes,
                    });
                }
                if stack.len() >= limits.max_depth {
                    return Err(ReadError::TooDeep {
                        span,
                        limit: limits.max_depth,
                    });
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        span,
                        anchor,
                        items: Vec::new(),
                        size: 1,
                    }
                } else {
                    Frame::Map {
                        span,
                        anchor,
                        entries: Vec::new(),
                        pending_key: None,
                        size: 1,
                        index: HashMap::new(),
                    }
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    span,
                    anchor,
                    items,
                    size,
                }) => Some((
                    Node {
                        value: Value::Seq(items),
                        span,
                        size,
                    },
                    anchor,
                )),
                Some(Frame::Map {
                    span,
                    anchor,
                    entries,
                    size,
                    ..
                }) => Some((
                    Node {
                        value: Value::Map(entries),
                        span,
                        size,
                    },
                    anchor,
                )),
                None => None,
            },
        };
        let Some((node, anchor)) = completed else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, size, .. }) => {
                *size = size.saturating_add(node.size);
                items.push(node);
            }
            Some(Frame::Map {
                entries,
                pending_key,
                size,
                index,
                ..
            }) => match pending_key.take() {
                None => {
                    let key_span = node.span;
                    let name = match node.value {
                        Value::Str(s) => s,
                        Value::Int(i) => i.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Null => String::new(),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(ReadError::ComplexKey { span: key_span });
                        }
                    };
                    // Large mappings (hundreds of services) get a hash index so the duplicate
                    // check stays linear; small ones are scanned.
                    let duplicate = if entries.len() < 16 {
                        entries
                            .iter()
                            .find(|(k, _)| k.name == name)
                            .map(|(k, _)| k.span)
                    } else {
                        if index.is_empty() {
                            index.extend(
                                entries
                                    .iter()
                                    .enumerate()
                                    .map(|(i, (k, _))| (k.name.clone(), i)),
                            );
                        }
                        index.get(&name).map(|&i| entries[i].0.span)
                    };
                    if let Some(first) = duplicate {
                        return Err(ReadError::DuplicateKey {
                            key: name,
                            span: key_span,
                            first,
                        });
                    }
                    if !index.is_empty() {
                        index.insert(name.clone(), entries.len());
                    }
                    *pending_key = Some(Key {
                        name,
                        span: key_span,
                    });
                }
                Some(key) => {
                    *size = size.saturating_add(node.size);
                    entries.push((key, node));
                }
            },
        }
    }
    Ok(root.unwrap_or(Node {
        value: Value::Null,
        span: Span::default(),
        size: 1,
    }))
}

/// Resolves a plain scalar by the YAML 1.2 core schema. Unlike YAML 1.1, `on`, `yes` and `no`
/// stay strings, which is what people who write `on: [promotion]` mean.
fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !unsigned.is_empty()
        && unsigned.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = s.parse::<i64>()
    {
        return Value::Int(i);
    }
    if let Some(hex) = s.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    if let Some(oct) = s.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(i);
    }
    let looks_numeric = unsigned
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_numeric
        && let Ok(f) = s.parse::<f64>()
        && f.is_finite()
    {
        return Value::Float(f);
    }
    Value::Str(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_ok(src: &str) -> Node {
        read(src, Limits::default()).expect("valid document")
    }

    #[test]
    fn positions_are_one_based() {
        let n = read_ok("a:\n  bb: 1\n");
        let (_, inner) = n.get("a").unwrap();
        let (k, v) = inner.get("bb").unwrap();
        assert_eq!(k.span.start, Pos { line: 2, col: 3 });
        assert_eq!(v.value, Value::Int(1));
        assert_eq!(v.span.start, Pos { line: 2, col: 7 });
    }

    #[test]
    fn core_schema_keeps_on_as_string() {
        let n = read_ok("on: [yes, no, 1.5, '1', 0x10]");
        let (k, v) = &n.entries()[0];
        assert_eq!(k.name, "on");
        let vals: Vec<_> = v.items().iter().map(|n| n.value.clone()).collect();
        assert_eq!(
            vals,
            vec![
                Value::Str("yes".into()),
                Value::Str("no".into()),
                Value::Float(1.5),
                Value::Str("1".into()),
                Value::Int(16)
            ]
        );
    }

    #[test]
    fn json_reads_with_positions() {
        let n = read_ok("{\n  \"a\": {\"b\": [1, \"x\"]}\n}");
        let (k, _) = n.get("a").unwrap();
        assert_eq!(k.span.start, Pos { line: 2, col: 3 });
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let err = read("a: 1\nb: 2\na: 3\n", Limits::default()).unwrap_err();
        assert!(matches!(err, ReadError::DuplicateKey { ref key, .. } if key == "a"));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            let refs = vec![format!("*a{p}"); 10].join(", ");
            s += &[
                "a",
                &i.to_string(),
                ": &a",
                &i.to_string(),
                " [",
                &refs,
                "]\n",
            ]
            .concat();
        }
        let err = read(&s, Limits::default()).unwrap_err();
        assert!(matches!(err, ReadError::TooManyNodes { .. }), "{err:?}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let s = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = read(&s, Limits::default()).unwrap_err();
        assert!(matches!(err, ReadError::TooDeep { .. }), "{err:?}");
    }

    #[test]
    fn large_input_is_refused_before_parsing() {
        let s = "#".repeat(Limits::default().max_bytes + 1);
        assert!(matches!(
            read(&s, Limits::default()).unwrap_err(),
            ReadError::TooLarge { .. }
        ));
    }

    #[test]
    fn aliases_expand_within_budget() {
        let n = read_ok("a: &x {k: 1}\nb: *x\n");
        assert_eq!(
            n.get("b").unwrap().1.get("k").unwrap().1.value,
            Value::Int(1)
        );
    }
}
