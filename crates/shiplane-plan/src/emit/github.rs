//! GitHub Actions: a `strategy.matrix` value.
//!
//! GitHub rejects a matrix with no rows ("Matrix vector does not contain any values"), so an
//! empty plan still emits `{"include":[]}` and the build job must be guarded:
//!
//! ```yaml
//! build:
//!   needs: plan
//!   if: fromJSON(needs.plan.outputs.matrix).include[0]
//!   strategy:
//!     matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}
//! ```

use serde_json::{Value, json};

use super::BuildJob;

/// `{"include":[{"service","context","dockerfile","image","tag","fingerprint"}, …]}`.
pub fn github_matrix(jobs: &[BuildJob]) -> Value {
    let include: Vec<Value> = jobs
        .iter()
        .map(|j| {
            json!({
                "service": j.service,
                "context": j.context,
                "dockerfile": j.dockerfile,
                "image": j.image,
                "tag": j.tag,
                "fingerprint": j.fingerprint.to_hex(),
            })
        })
        .collect();
    json!({ "include": include })
}
