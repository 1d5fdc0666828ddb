//! Buildkite: a document for `buildkite-agent pipeline upload`.
//!
//! One command step per affected service (build, push, `shiplane publish`), then a final step
//! that `depends_on` every build step and promotes. Step variables are passed through `env` and
//! written `$$VAR` in commands, because `pipeline upload` interpolates a single `$` at upload
//! time, before the step's own environment exists.

use serde_json::{Value, json};

use super::{BuildJob, EmitOptions, step_name, to_yaml};

/// The pipeline YAML. An empty plan gives a valid pipeline with one no-op step.
pub fn buildkite(jobs: &[BuildJob], options: &EmitOptions) -> String {
    let mut steps: Vec<Value> = Vec::with_capacity(jobs.len() + 1);
    if jobs.is_empty() {
        steps.push(json!({
            "key": "shiplane-nothing-to-build",
            "label": ":white_check_mark: nothing to build",
            "command": "echo 'shiplane: no service is affected; nothing to build'",
        }));
        return to_yaml(&json!({ "steps": steps }));
    }
    for job in jobs {
        steps.push(json!({
            "key": step_name("build", &job.service),
            "label": format!(":docker: {}", job.service),
            "command": [
                "docker build --file \"$$SHIPLANE_DOCKERFILE\" --tag \"$$SHIPLANE_IMAGE:$$SHIPLANE_TAG\" \"$$SHIPLANE_CONTEXT\"",
                "docker push \"$$SHIPLANE_IMAGE:$$SHIPLANE_TAG\"",
                "shiplane publish \"$$SHIPLANE_SERVICE\" --image \"$$SHIPLANE_IMAGE:$$SHIPLANE_TAG\" --commit \"$$SHIPLANE_COMMIT\"",
            ],
            "env": {
                "SHIPLANE_SERVICE": job.service,
                "SHIPLANE_CONTEXT": job.context,
                "SHIPLANE_DOCKERFILE": job.dockerfile,
                "SHIPLANE_IMAGE": job.image,
                "SHIPLANE_TAG": job.tag,
                "SHIPLANE_FINGERPRINT": job.fingerprint.to_hex(),
                "SHIPLANE_COMMIT": options.commit,
            },
        }));
    }
    let keys: Vec<String> = jobs
        .iter()
        .map(|j| step_name("build", &j.service))
        .collect();
    steps.push(json!({
        "key": "shiplane-promote",
        "label": ":rocket: promote",
        "depends_on": keys,
        "command": options.finish_command(),
    }));
    to_yaml(&json!({ "steps": steps }))
}
