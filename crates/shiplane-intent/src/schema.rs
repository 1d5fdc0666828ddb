//! The JSON Schema of the intent, generated from [`crate::model`] so it can never drift from
//! what Shiplane accepts. `shiplane check` walks this same schema for its structural pass.

use crate::model::Intent;

/// The JSON Schema (draft 2020-12) of the intent file.
#[must_use]
pub fn intent_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Intent);
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Bool(true))
}
