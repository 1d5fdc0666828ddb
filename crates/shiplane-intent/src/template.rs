//! `{variable}` templates in intent strings (`sha-{commit.short}`, `miker{lane.host_suffix}…`).
//!
//! A template is plain text with `{name}` holes; names are dotted identifiers. There is no
//! escaping and no expression language on purpose: every hole is checked by `shiplane check`
//! against the variables its context provides, so a typo never reaches a cluster.

/// One `{variable}` in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    /// The variable name, without braces.
    pub name: String,
    /// Character offset of the `{` within the string.
    pub offset: usize,
    /// Length in characters, braces included.
    pub len: usize,
}

/// A template that does not parse: an unclosed `{` or an empty or malformed name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Character offset of the problem.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Lists the variables of a template.
pub fn holes(s: &str) -> Result<Vec<Hole>, TemplateError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' => {
                let Some(close) = chars[i + 1..].iter().position(|&c| c == '}') else {
                    return Err(TemplateError {
                        offset: i,
                        message: "`{` is not closed by `}`".to_owned(),
                    });
                };
                let name: String = chars[i + 1..i + 1 + close].iter().collect();
                let valid = !name.is_empty()
                    && name.split('.').all(|part| {
                        !part.is_empty()
                            && part
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    });
                if !valid {
                    return Err(TemplateError {
                        offset: i,
                        message: format!("`{{{name}}}` is not a variable name"),
                    });
                }
                out.push(Hole {
                    name,
                    offset: i,
                    len: close + 2,
                });
                i += close + 2;
            }
            '}' => {
                return Err(TemplateError {
                    offset: i,
                    message: "`}` without an opening `{`".to_owned(),
                });
            }
            _ => i += 1,
        }
    }
    Ok(out)
}

/// Replaces every variable `lookup` knows; unknown ones (and malformed templates) stay as written.
#[must_use]
pub fn substitute(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let Ok(hs) = holes(s) else {
        return s.to_owned();
    };
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for h in hs {
        out.extend(&chars[last..h.offset]);
        match lookup(&h.name) {
            Some(v) => out.push_str(&v),
            None => out.extend(&chars[h.offset..h.offset + h.len]),
        }
        last = h.offset + h.len;
    }
    out.extend(&chars[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_holes() {
        let h = holes("sha-{commit.short}-{x}").unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].name, "commit.short");
        assert_eq!(h[0].offset, 4);
        assert_eq!(h[1].name, "x");
    }

    #[test]
    fn rejects_unclosed() {
        assert_eq!(holes("a{b").unwrap_err().offset, 1);
        assert!(holes("a}").is_err());
        assert!(holes("{}").is_err());
    }

    #[test]
    fn substitutes_known_only() {
        let f = |v: &str| (v == "a").then(|| "1".to_owned());
        assert_eq!(substitute("{a}-{b}", &f), "1-{b}");
    }
}
