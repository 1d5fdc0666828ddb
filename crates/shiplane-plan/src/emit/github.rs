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

/// `{"include":[{"service","context","dockerfile","target","build_args","image","tag",
/// "fingerprint"}, …]}`.
///
/// `target` (empty for the last stage) and `build_args` (`NAME=VALUE` lines, sorted by name)
/// are in the shapes `docker/build-push-action` takes (`target:`, `build-args:`), so a workflow
/// passes them straight through and builds the image the fingerprint names.
pub fn github_matrix(jobs: &[BuildJob]) -> Value {
    let include: Vec<Value> = jobs
        .iter()
        .map(|j| {
            let build_args: Vec<String> = j.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
            json!({
                "service": j.service,
                "context": j.context,
                "dockerfile": j.dockerfile,
                "target": j.target.as_deref().unwrap_or_default(),
                "build_args": build_args.join("\n"),
                "image": j.image,
                "tag": j.tag,
                "fingerprint": j.fingerprint.to_hex(),
            })
        })
        .collect();
    json!({ "include": include })
}
