//! Deterministic JSON bytes: keys sorted at every level, two-space indent, trailing newline.

use serde_json::Value;

/// The canonical bytes of `value`: objects with sorted keys, pretty-printed, ending in `\n`.
/// The same value always gives the same bytes, whatever order its maps were built in.
#[must_use]
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let sorted = sort(value);
    let mut bytes = serde_json::to_vec_pretty(&sorted).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

fn sort(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), sort(&map[k]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::canonical_json;

    #[test]
    fn keys_are_sorted_at_every_level() {
        let v = serde_json::json!({"b": {"z": 1, "a": [ {"y": 1, "x": 2} ]}, "a": null});
        let text = String::from_utf8(canonical_json(&v)).unwrap_or_default();
        assert_eq!(
            text,
            "{\n  \"a\": null,\n  \"b\": {\n    \"a\": [\n      {\n        \"x\": 2,\n        \"y\": 1\n      }\n    ],\n    \"z\": 1\n  }\n}\n"
        );
    }
}
