//! Small, forgiving readers for the few facts `shiplane init` needs from build files: TOML
//! key/values, YAML dotted keys and lists, Maven POM elements, `go.mod` directives, Dockerfile
//! instructions, and ports on command lines.
//!
//! These are deliberately not full parsers: a proposal is a starting point a person reviews, so
//! a reader that understands the common shapes and skips the rest is worth more than a heavy
//! dependency per format. Every reader is total: odd input yields fewer facts, never an error or
//! a panic.

/// One `key = value` of a TOML document, with the table it sits in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TomlEntry {
    /// The enclosing table header without brackets or spaces (`tool.poetry.dependencies`).
    pub table: String,
    /// The key as written (dotted keys kept dotted, quotes removed).
    pub key: String,
    /// The raw value text, multi-line arrays and inline tables joined onto one line.
    pub value: String,
}

/// The characters of a TOML line that are outside strings, with their byte offsets.
fn outside_strings(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    text.char_indices().filter(move |&(_, c)| {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            false
        } else if c == '"' || c == '\'' {
            quote = Some(c);
            false
        } else {
            true
        }
    })
}

/// Removes a `#` comment that is outside a string.
fn strip_toml_comment(line: &str) -> &str {
    match outside_strings(line).find(|&(_, c)| c == '#') {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

/// Bracket depth of a value outside strings (`[`/`{` open, `]`/`}` close).
fn bracket_depth(text: &str) -> i32 {
    outside_strings(text)
        .map(|(_, c)| match c {
            '[' | '{' => 1,
            ']' | '}' => -1,
            _ => 0,
        })
        .sum()
}

/// Reads the key/values of a TOML document.
pub(crate) fn toml_entries(text: &str) -> Vec<TomlEntry> {
    let mut out = Vec::new();
    let mut table = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = strip_toml_comment(line).trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            table = line
                .trim_start_matches('[')
                .trim_end_matches(']')
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '"')
                .collect();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key: String = key
            .trim()
            .chars()
            .filter(|c| *c != '"' && *c != '\'')
            .collect();
        let mut value = value.trim().to_owned();
        if value.starts_with("\"\"\"") || value.starts_with("'''") {
            let fence = &value[..3];
            if value.len() < 6 || !value[3..].contains(fence) {
                let fence = fence.to_owned();
                for next in lines.by_ref() {
                    value.push('\n');
                    value.push_str(next);
                    if next.contains(&fence) {
                        break;
                    }
                }
            }
        } else {
            let mut depth = bracket_depth(&value);
            while depth > 0 {
                let Some(next) = lines.next() else { break };
                let next = strip_toml_comment(next).trim();
                value.push(' ');
                value.push_str(next);
                depth = bracket_depth(&value);
            }
        }
        out.push(TomlEntry {
            table: table.clone(),
            key,
            value,
        });
    }
    out
}

/// Every quoted string in a TOML (or JSON-ish, or YAML flow) value, in order.
pub(crate) fn quoted_strings(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '"' && c != '\'' {
            continue;
        }
        let mut s = String::new();
        let mut escaped = false;
        for d in chars.by_ref() {
            if escaped {
                s.push(d);
                escaped = false;
            } else if d == '\\' && c == '"' {
                escaped = true;
            } else if d == c {
                break;
            } else {
                s.push(d);
            }
        }
        out.push(s);
    }
    out
}

/// The first quoted string of a value.
pub(crate) fn first_string(value: &str) -> Option<String> {
    quoted_strings(value).into_iter().next()
}

/// The string value of `key` inside an inline table (`{ path = "../x", version = "1" }`).
pub(crate) fn inline_table_string(value: &str, key: &str) -> Option<String> {
    let mut rest = value;
    while let Some(i) = rest.find(key) {
        let before_ok = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| c == '{' || c == ',' || c.is_whitespace());
        let after = rest[i + key.len()..].trim_start();
        if before_ok && let Some(after) = after.strip_prefix('=') {
            return first_string(after.trim_start().split([',', '}']).next().unwrap_or(""));
        }
        rest = &rest[i + key.len()..];
    }
    None
}

/// One scalar (or list item) of a YAML document, addressed by its dotted key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlEntry {
    /// Dotted path of keys (`server.port`); list items carry the path of their list's key.
    pub path: String,
    /// The scalar text, unquoted; a flow value (`[a, b]`) is kept as written.
    pub value: String,
    /// True for an item of a block list (`- value`).
    pub item: bool,
}

/// Removes a YAML comment (` #` outside quotes) and surrounding spaces.
fn strip_yaml_comment(text: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev_space = true;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => {
                if c == '#' && prev_space {
                    return text[..i].trim();
                }
                if (c == '"' || c == '\'') && prev_space {
                    quote = Some(c);
                }
            }
        }
        prev_space = c.is_whitespace();
    }
    text.trim()
}

fn unquote(text: &str) -> String {
    let t = text.trim();
    for q in ['"', '\''] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            return t[1..t.len() - 1].to_owned();
        }
    }
    t.to_owned()
}

/// Reads the block-style scalars and list items of a YAML document (every document of a
/// multi-document file, in order). Flow collections are returned as raw values.
pub(crate) fn yaml_entries(text: &str) -> Vec<YamlEntry> {
    let mut out = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for raw in text.lines() {
        if raw.starts_with("---") || raw.starts_with("...") {
            stack.clear();
            continue;
        }
        let content = strip_yaml_comment(raw);
        if content.is_empty() {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        if let Some(item) =
            content
                .strip_prefix("- ")
                .or(if content == "-" { Some("") } else { None })
        {
            while stack.last().is_some_and(|(i, _)| *i > indent) {
                stack.pop();
            }
            let path = join_keys(&stack);
            out.push(YamlEntry {
                path,
                value: unquote(item),
                item: true,
            });
            continue;
        }
        let Some((key, value)) = split_yaml_key(content) else {
            continue;
        };
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, unquote(key)));
        if !value.is_empty() {
            out.push(YamlEntry {
                path: join_keys(&stack),
                value: unquote(value),
                item: false,
            });
        }
    }
    out
}

fn join_keys(stack: &[(usize, String)]) -> String {
    stack
        .iter()
        .map(|(_, k)| k.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

/// Splits `key: value` (or `key:`) at the first `:` followed by a space or the end.
fn split_yaml_key(content: &str) -> Option<(&str, &str)> {
    let bytes = content.as_bytes();
    let mut quote: Option<u8> = None;
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => {
                if (b == b'"' || b == b'\'') && i == 0 {
                    quote = Some(b);
                } else if b == b':' && bytes.get(i + 1).is_none_or(|n| *n == b' ' || *n == b'\t') {
                    return Some((&content[..i], content[i + 1..].trim()));
                }
            }
        }
    }
    None
}

/// The first scalar at a dotted `path`.
pub(crate) fn yaml_get<'e>(entries: &'e [YamlEntry], path: &str) -> Option<&'e str> {
    entries
        .iter()
        .find(|e| !e.item && e.path == path)
        .map(|e| e.value.as_str())
}

/// Removes XML comments.
pub(crate) fn xml_strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("<!--") {
        out.push_str(&rest[..i]);
        match rest[i..].find("-->") {
            Some(j) => rest = &rest[i + j + 3..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// The inner text of every `<tag>…</tag>` element, outermost first, not nested in one another.
pub(crate) fn xml_blocks<'t>(text: &'t str, tag: &str) -> Vec<&'t str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(&open) {
        let body = &rest[i + open.len()..];
        let Some(j) = body.find(&close) else { break };
        out.push(&body[..j]);
        rest = &body[j + close.len()..];
    }
    out
}

/// `text` without any `<tag>…</tag>` element.
pub(crate) fn xml_without(text: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(&open) {
        out.push_str(&rest[..i]);
        match rest[i..].find(&close) {
            Some(j) => rest = &rest[i + j + close.len()..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// The trimmed text of the first `<tag>` element.
pub(crate) fn xml_first(text: &str, tag: &str) -> Option<String> {
    xml_blocks(text, tag).first().map(|s| s.trim().to_owned())
}

/// What `shiplane init` reads from a `go.mod`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GoMod {
    /// The module path.
    pub module: Option<String>,
    /// Required module paths.
    pub requires: Vec<String>,
    /// Local directories that replace modules (`replace x => ../x`), as written.
    pub local_replaces: Vec<String>,
}

/// Reads the module path, requirements and local replacements of a `go.mod`.
pub(crate) fn go_mod(text: &str) -> GoMod {
    let mut out = GoMod::default();
    let mut block: Option<&str> = None;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if block.is_some() && line == ")" {
            block = None;
            continue;
        }
        let (directive, rest) = if let Some(d) = block {
            (d, line)
        } else {
            let (d, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let rest = rest.trim();
            if rest == "(" {
                block = Some(match d {
                    "require" => "require",
                    "replace" => "replace",
                    _ => "other",
                });
                continue;
            }
            (d, rest)
        };
        match directive {
            "module" => out.module = Some(unquote(rest)),
            "require" => {
                if let Some(path) = rest.split_whitespace().next() {
                    out.requires.push(unquote(path));
                }
            }
            "replace" => {
                if let Some((_, target)) = rest.split_once("=>") {
                    let target = target.split_whitespace().next().unwrap_or("");
                    if target.starts_with("./") || target.starts_with("../") {
                        out.local_replaces.push(target.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// What `shiplane init` reads from a Dockerfile (or Containerfile).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DockerfileFacts {
    /// Ports of the final stage's `EXPOSE`, in order.
    pub expose: Vec<u16>,
    /// `PORT` from the final stage's `ENV` (or `ARG` default).
    pub env_port: Option<u16>,
    /// A port passed on the final stage's `CMD`/`ENTRYPOINT` (`--port 8000`, `--bind :8000`).
    pub cmd_port: Option<u16>,
    /// The path of an HTTP URL in the final stage's `HEALTHCHECK`.
    pub health_path: Option<String>,
    /// Sources of `COPY`/`ADD` from the build context (not `--from=` another stage), as written.
    pub copy_sources: Vec<String>,
}

/// Joins continuation lines (`\` at the end) and drops comments.
fn dockerfile_instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') && current.is_empty() {
            continue;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            if !current.trim().is_empty() {
                out.push(std::mem::take(&mut current));
            }
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// Expands `$NAME`, `${NAME}` and `${NAME:-default}` from `vars` (unknown names expand to their
/// default, or to nothing).
fn expand(text: &str, vars: &[(String, String)]) -> String {
    let lookup = |name: &str| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                out.push_str(&rest[i..]);
                return out;
            };
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-").or_else(|| inner.split_once('-')) {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            out.push_str(
                &lookup(name)
                    .or(default.map(str::to_owned))
                    .unwrap_or_default(),
            );
            rest = &body[end + 1..];
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            out.push_str(&lookup(&after[..len]).unwrap_or_default());
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    out
}

/// `KEY=VALUE` pairs of an `ENV`/`ARG` instruction (also the legacy `ENV KEY VALUE`).
fn assignments(args: &str) -> Vec<(String, String)> {
    let args = args.trim();
    let first = args.split_whitespace().next().unwrap_or("");
    if !first.contains('=') {
        // `ENV KEY value with spaces` or `ARG NAME` without a default.
        let mut parts = args.splitn(2, char::is_whitespace);
        let key = parts.next().unwrap_or("").to_owned();
        let value = parts.next().map(|v| unquote(v.trim())).unwrap_or_default();
        return if key.is_empty() {
            Vec::new()
        } else {
            vec![(key, value)]
        };
    }
    args.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), unquote(v)))
        .collect()
}

/// Reads the facts `shiplane init` uses from a Dockerfile.
pub(crate) fn dockerfile(text: &str) -> DockerfileFacts {
    let mut facts = DockerfileFacts::default();
    let mut vars: Vec<(String, String)> = Vec::new();
    for instruction in dockerfile_instructions(text) {
        let (keyword, args) = instruction
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((instruction.trim(), ""));
        let args = args.trim();
        match keyword.to_ascii_uppercase().as_str() {
            "FROM" => {
                // A new stage: only the final stage's runtime facts describe the image. ARGs
                // declared before the first FROM stay visible, as Docker's do when redeclared.
                facts.expose.clear();
                facts.env_port = None;
                facts.cmd_port = None;
                facts.health_path = None;
            }
            "ARG" | "ENV" => {
                for (k, v) in assignments(args) {
                    let v = expand(&v, &vars);
                    if k == "PORT"
                        && let Some(p) = parse_port(&v)
                    {
                        facts.env_port = Some(p);
                    }
                    vars.push((k, v));
                }
            }
            "EXPOSE" => {
                for port in args.split_whitespace() {
                    let port = expand(port, &vars);
                    let number = port.split('/').next().unwrap_or("");
                    if let Some(p) = parse_port(number) {
                        facts.expose.push(p);
                    }
                }
            }
            "CMD" | "ENTRYPOINT" => {
                if let Some(p) = port_from_command(&expand(args, &vars)) {
                    facts.cmd_port = Some(p);
                }
            }
            "HEALTHCHECK" => {
                facts.health_path = url_path(args);
            }
            "COPY" | "ADD" => {
                let (flags, rest) = split_flags(args);
                if flags.iter().any(|t| t.starts_with("--from")) {
                    continue;
                }
                // The JSON form may follow flags (`COPY --chown=app ["a b", "/dst/"]`), so the
                // flags are split off before deciding which form the rest is in.
                let mut sources = command_tokens(rest);
                if sources.first().is_some_and(|t| t.starts_with("<<")) {
                    continue; // a heredoc: nothing comes from the context
                }
                sources.pop(); // the destination
                facts.copy_sources.extend(
                    sources
                        .into_iter()
                        .filter(|s| !s.contains("://") && !s.starts_with("git@")),
                );
            }
            _ => {}
        }
    }
    facts
}

/// The leading `--flag` / `--flag=value` words of an instruction's arguments, and the rest.
fn split_flags(args: &str) -> (Vec<&str>, &str) {
    let mut flags = Vec::new();
    let mut rest = args.trim_start();
    while rest.starts_with("--") {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        flags.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    (flags, rest)
}

/// The port of the first `http(s)://host:port/…` URL in `text`, when it names one.
pub(crate) fn url_port(text: &str) -> Option<u16> {
    let i = text.find("http://").or_else(|| text.find("https://"))?;
    let after = &text[i..];
    let after = &after[after.find("//")? + 2..];
    let authority = after
        .split(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'' || c == '?')
        .next()?;
    let (_, port) = authority.rsplit_once(':')?;
    parse_port(port)
}

/// The path of the first `http(s)://host/path` URL in `text`.
pub(crate) fn url_path(text: &str) -> Option<String> {
    let i = text.find("http://").or_else(|| text.find("https://"))?;
    let after = &text[i..];
    let after = &after[after.find("//")? + 2..];
    let end = after
        .find(|c: char| {
            c.is_whitespace() || c == '"' || c == '\'' || c == ',' || c == ']' || c == '|'
        })
        .unwrap_or(after.len());
    let url = &after[..end];
    let slash = url.find('/')?;
    let path = &url[slash..];
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let ok = path.len() > 1
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-._~".contains(c));
    ok.then(|| path.to_owned())
}

/// Splits a shell or exec-form (`["a", "b"]`) command into words.
fn command_tokens(cmd: &str) -> Vec<String> {
    let trimmed = cmd.trim();
    if trimmed.starts_with('[') {
        return quoted_strings(trimmed);
    }
    trimmed
        .split_whitespace()
        .map(|t| t.trim_matches(|c| c == '"' || c == '\'').to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

/// A port number in 1–65535.
pub(crate) fn parse_port(text: &str) -> Option<u16> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok().filter(|p| *p > 0)
}

/// The port of `host:port` or `:port`.
fn port_after_colon(text: &str) -> Option<u16> {
    parse_port(text.rsplit(':').next()?)
}

/// A port set on a command line: `--port 8000`, `--port=8000`, `-p 3000`, `PORT=4000 …`,
/// `--bind 0.0.0.0:8000`, `-b :8000`, `runserver 0.0.0.0:8000`, `--server.port=8081`,
/// `-Dserver.port=8081`.
pub(crate) fn port_from_command(cmd: &str) -> Option<u16> {
    let tokens = command_tokens(&cmd.replace(['(', ')', ';', '&', '|'], " "));
    for (i, token) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1).map_or("", String::as_str);
        let found = match token.as_str() {
            "--port" | "-p" | "--server.port" | "--http-port" => parse_port(next),
            "--bind" | "-b" | "runserver" => port_after_colon(next).or_else(|| parse_port(next)),
            t => {
                if let Some((flag, value)) = t.split_once('=') {
                    match flag {
                        "--port" | "PORT" | "--server.port" | "-Dserver.port" | "--http-port" => {
                            parse_port(value)
                        }
                        "--bind" => port_after_colon(value),
                        _ => None,
                    }
                } else {
                    None
                }
            }
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// A Spring property value's port: a number, or the default of `${PORT:8080}`.
pub(crate) fn spring_port(value: &str) -> Option<u16> {
    let v = value.trim();
    if let Some(inner) = v.strip_prefix("${").and_then(|s| s.strip_suffix('}')) {
        return parse_port(inner.split_once(':')?.1);
    }
    parse_port(v)
}

/// The `key=value` (or `key: value`) pairs of a Java properties file.
pub(crate) fn properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| {
            let i = l.find(['=', ':'])?;
            Some((l[..i].trim().to_owned(), l[i + 1..].trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_multiline_arrays_and_tables() {
        let text = r#"
[workspace]
members = [
    "crates/*",  # all crates
    "tools/x",
]
[dependencies]
serde = { version = "1", features = ["derive"] }
core.workspace = true
[target.'cfg(unix)'.dependencies]
nix = "0.29"
"#;
        let entries = toml_entries(text);
        let members = entries.iter().find(|e| e.key == "members").unwrap();
        assert_eq!(members.table, "workspace");
        assert_eq!(quoted_strings(&members.value), ["crates/*", "tools/x"]);
        assert!(
            entries
                .iter()
                .any(|e| e.table == "dependencies" && e.key == "core.workspace")
        );
        assert!(
            entries
                .iter()
                .any(|e| e.table == "target.'cfg(unix)'.dependencies" && e.key == "nix")
        );
        assert_eq!(
            inline_table_string(r#"{ version = "1", path = "../x" }"#, "path").as_deref(),
            Some("../x")
        );
    }

    #[test]
    fn yaml_nested_keys_lists_and_documents() {
        let text = "server:\n  port: 8081 # main\nspring.application.name: x\npackages:\n  - 'apps/*'\n  - packages/*\nother: [a, \"b\"]\n---\nserver:\n  port: 9000\n";
        let e = yaml_entries(text);
        assert_eq!(yaml_get(&e, "server.port"), Some("8081"));
        assert_eq!(yaml_get(&e, "spring.application.name"), Some("x"));
        let items: Vec<&str> = e
            .iter()
            .filter(|e| e.item && e.path == "packages")
            .map(|e| e.value.as_str())
            .collect();
        assert_eq!(items, ["apps/*", "packages/*"]);
        assert_eq!(yaml_get(&e, "other"), Some("[a, \"b\"]"));
    }

    #[test]
    fn dockerfile_final_stage_facts() {
        let text = r#"
ARG APP_PORT=8000
FROM node:20 AS build
EXPOSE 9999
COPY --from=deps /x /y
COPY package.json pnpm-lock.yaml ./
FROM python:3.12
ENV PYTHONUNBUFFERED=1 \
    PORT=${APP_PORT}
COPY ["src", "/app/src"]
EXPOSE ${APP_PORT}/tcp
HEALTHCHECK CMD curl -fsS http://localhost:8000/healthz || exit 1
CMD ["uvicorn", "app:app", "--port", "8000"]
"#;
        let f = dockerfile(text);
        assert_eq!(f.expose, [8000]);
        assert_eq!(f.env_port, Some(8000));
        assert_eq!(f.cmd_port, Some(8000));
        assert_eq!(f.health_path.as_deref(), Some("/healthz"));
        assert_eq!(f.copy_sources, ["package.json", "pnpm-lock.yaml", "src"]);
    }

    #[test]
    fn ports_on_command_lines() {
        let table = [
            ("next start -p 3001", Some(3001)),
            ("vite --port=5173", Some(5173)),
            ("PORT=4000 node server.js", Some(4000)),
            ("gunicorn -b 0.0.0.0:8000 app:app", Some(8000)),
            ("python manage.py runserver 0.0.0.0:8001", Some(8001)),
            ("java -Dserver.port=8081 -jar app.jar", Some(8081)),
            ("mkdir -p dist && tsc", None),
            ("node server.js --port 70000", None),
        ];
        for (cmd, want) in table {
            assert_eq!(port_from_command(cmd), want, "{cmd}");
        }
    }

    #[test]
    fn go_mod_requires_and_replaces() {
        let g = go_mod(
            "module example.com/shop/api\n\ngo 1.22\n\nrequire (\n\texample.com/shop/lib v0.0.0\n\tgithub.com/x/y v1.2.3 // indirect\n)\nrequire golang.org/x/net v0.1.0\nreplace example.com/shop/lib => ../lib\n",
        );
        assert_eq!(g.module.as_deref(), Some("example.com/shop/api"));
        assert_eq!(
            g.requires,
            ["example.com/shop/lib", "github.com/x/y", "golang.org/x/net"]
        );
        assert_eq!(g.local_replaces, ["../lib"]);
    }

    #[test]
    fn xml_helpers() {
        let pom = "<project><!-- <artifactId>no</artifactId> --><parent><artifactId>p</artifactId></parent><artifactId>app</artifactId><dependencies><dependency><artifactId>lib</artifactId></dependency></dependencies></project>";
        let pom = xml_strip_comments(pom);
        let own = xml_without(&pom, "parent");
        assert_eq!(xml_first(&own, "artifactId").as_deref(), Some("app"));
        assert_eq!(xml_blocks(&pom, "dependencies").len(), 1);
        assert_eq!(spring_port("${PORT:8085}"), Some(8085));
    }
}
