//! Buildkite: a document for `buildkite-agent pipeline upload`.
//!
//! One command step per affected service (build with the intent's target and build arguments,
//! push, `shiplane publish`), then a final step that `depends_on` every build step and promotes
//! (`promote` with a lane) or reports (`status` without one). Step variables are passed through
//! `env` and written `$$VAR` in commands, because `pipeline upload` interpolates a single `$` at
//! upload time, before the step's own environment exists; for the same reason a `$` in a value
//! is written `$$`. Build arguments travel as `SHIPLANE_BUILD_ARG_<n>=NAME=VALUE` variables
//! passed as `--build-arg "$$SHIPLANE_BUILD_ARG_<n>"`, so no value is ever parsed by a shell.

use serde_json::{Map, Value, json};

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
        let mut build = String::from(
            "docker build --file \"$$SHIPLANE_DOCKERFILE\" --tag \"$$SHIPLANE_IMAGE:$$SHIPLANE_TAG\"",
        );
        let mut env = Map::new();
        for (key, value) in [
            ("SHIPLANE_SERVICE", &job.service),
            ("SHIPLANE_CONTEXT", &job.context),
            ("SHIPLANE_DOCKERFILE", &job.dockerfile),
            ("SHIPLANE_IMAGE", &job.image),
            ("SHIPLANE_TAG", &job.tag),
        ] {
            env.insert(key.to_owned(), Value::String(literal(value)));
        }
        if let Some(target) = &job.target {
            build.push_str(" --target \"$$SHIPLANE_TARGET\"");
            env.insert("SHIPLANE_TARGET".to_owned(), Value::String(literal(target)));
        }
        for (n, (name, value)) in job.args.iter().enumerate() {
            let var = format!("SHIPLANE_BUILD_ARG_{}", n + 1);
            build.push_str(" --build-arg \"$$");
            build.push_str(&var);
            build.push('"');
            env.insert(var, Value::String(literal(&format!("{name}={value}"))));
        }
        build.push_str(" \"$$SHIPLANE_CONTEXT\"");
        env.insert(
            "SHIPLANE_FINGERPRINT".to_owned(),
            Value::String(job.fingerprint.to_hex()),
        );
        env.insert(
            "SHIPLANE_COMMIT".to_owned(),
            Value::String(literal(&options.commit)),
        );
        steps.push(json!({
            "key": step_name("build", &job.service),
            "label": format!(":docker: {}", job.service),
            "command": [
                build,
                "docker push \"$$SHIPLANE_IMAGE:$$SHIPLANE_TAG\"",
                "shiplane publish \"$$SHIPLANE_SERVICE\" --image \"$$SHIPLANE_IMAGE:$$SHIPLANE_TAG\" --commit \"$$SHIPLANE_COMMIT\"",
            ],
            "env": env,
        }));
    }
    let keys: Vec<String> = jobs
        .iter()
        .map(|j| step_name("build", &j.service))
        .collect();
    let finish = options.finish();
    steps.push(json!({
        "key": format!("shiplane-{}", finish.name),
        "label": finish.label,
        "depends_on": keys,
        "command": finish.command(),
    }));
    to_yaml(&json!({ "steps": steps }))
}

/// A value as Buildkite must see it to hand the step exactly `value`: `pipeline upload`
/// interpolates `$VAR` and `${VAR}` everywhere, and `$$` is its escape for a literal `$`.
fn literal(value: &str) -> String {
    value.replace('$', "$$")
}
