//! Serializing rendered objects: one YAML document per file, from a JSON tree whose key order
//! was fixed when it was built. `serde-saphyr` quotes every string a YAML 1.1 reader (kubectl,
//! Helm) could mistake for another type (`"on"`, `"0.1"`, `"y"`), and never folds a
//! string over several lines.

use serde_json::Value;

use crate::RenderError;

/// The YAML bytes of one object.
pub(crate) fn to_yaml(file: &str, value: &Value) -> Result<Vec<u8>, RenderError> {
    // Block scalars off: a long image reference folded over two lines is valid YAML but hides
    // the `@sha256:` from anyone grepping, and a multi-line value is clearer quoted.
    let options = serde_saphyr::ser_options! {
        prefer_block_scalars: false,
    };
    serde_saphyr::to_string_with_options(value, options)
        .map(String::into_bytes)
        .map_err(|e| RenderError::Serialize {
            file: file.to_owned(),
            message: e.to_string(),
        })
}
