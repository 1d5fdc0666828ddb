//! Tekton: a `tekton.dev/v1` `PipelineRun` with an inline `pipelineSpec`.
//!
//! Tasks: `checkout` clones the repository at the planned commit into the `source` workspace
//! (a volume claim template), one `build-<service>` task per affected service builds and pushes
//! with Kaniko (with the intent's target and build arguments) and records the artifact with
//! `shiplane publish`, and a last task runs after all of them: `promote` with a lane, `status`
//! without one. The pipeline's parameters (`repo-url`, `revision`) have no defaults, so the run
//! gives each a value: `revision` is the planned commit, `repo-url` is
//! [`EmitOptions::repo_url`] or, when unknown, [`REPO_URL_UNSET`], which the checkout step
//! refuses with a message saying how to set it (Tekton would refuse a run that left it out,
//! with a message about the run rather than the plan).

use serde_json::{Value, json};

use super::{BuildJob, EmitOptions, REPO_URL_UNSET, step_name, to_yaml};

/// The `PipelineRun` YAML. An empty plan gives a run with one no-op task.
pub fn tekton(jobs: &[BuildJob], options: &EmitOptions) -> String {
    let workspace = json!([{ "name": "source", "workspace": "source" }]);
    let task_workspaces = json!([{ "name": "source" }]);
    let mut tasks: Vec<Value> = Vec::with_capacity(jobs.len() + 2);
    if jobs.is_empty() {
        tasks.push(json!({
            "name": "nothing-to-build",
            "taskSpec": { "steps": [{
                "name": "report",
                "image": options.shiplane_image,
                "script": "#!/bin/sh\necho 'shiplane: no service is affected; nothing to build'\n",
            }]},
        }));
    } else {
        tasks.push(json!({
            "name": "checkout",
            "workspaces": workspace,
            "params": [
                { "name": "repo-url", "value": "$(params.repo-url)" },
                { "name": "revision", "value": "$(params.revision)" },
            ],
            "taskSpec": {
                "workspaces": task_workspaces,
                "params": [{ "name": "repo-url", "type": "string" }, { "name": "revision", "type": "string" }],
                "steps": [{
                    "name": "clone",
                    "image": options.git_image,
                    "workingDir": "$(workspaces.source.path)",
                    "script": format!("#!/bin/sh\nset -eu\nif [ \"$(params.repo-url)\" = '{REPO_URL_UNSET}' ]; then\n  echo 'shiplane: the repo-url parameter was not set: run `shiplane plan --format tekton --repo-url URL` (or from a clone whose origin is the repository)' >&2\n  exit 1\nfi\ngit init -q .\ngit fetch -q --depth 1 \"$(params.repo-url)\" \"$(params.revision)\"\ngit checkout -q FETCH_HEAD\n"),
                }],
            },
        }));
        for job in jobs {
            let destination = format!("{}:{}", job.image, job.tag);
            let mut kaniko = vec![
                format!("--context=$(workspaces.source.path)/{}", job.context),
                format!("--dockerfile=$(workspaces.source.path)/{}", job.dockerfile),
                format!("--destination={destination}"),
            ];
            if let Some(target) = &job.target {
                kaniko.push(format!("--target={target}"));
            }
            // One argument each, never through a shell, so values need no quoting.
            kaniko.extend(job.args.iter().map(|(k, v)| format!("--build-arg={k}={v}")));
            tasks.push(json!({
                "name": step_name("build", &job.service),
                "runAfter": ["checkout"],
                "workspaces": workspace,
                "taskSpec": {
                    "workspaces": task_workspaces,
                    "steps": [
                        {
                            "name": "build",
                            "image": options.builder_image,
                            "args": kaniko,
                        },
                        {
                            "name": "publish",
                            "image": options.shiplane_image,
                            "workingDir": "$(workspaces.source.path)",
                            "args": ["publish", job.service, "--image", destination, "--commit", options.commit],
                        },
                    ],
                },
            }));
        }
        let after: Vec<String> = jobs
            .iter()
            .map(|j| step_name("build", &j.service))
            .collect();
        let finish = options.finish();
        tasks.push(json!({
            "name": finish.name,
            "runAfter": after,
            "workspaces": workspace,
            "taskSpec": {
                "workspaces": task_workspaces,
                "steps": [{
                    "name": finish.name,
                    "image": options.shiplane_image,
                    "workingDir": "$(workspaces.source.path)",
                    "args": finish.args,
                }],
            },
        }));
    }
    let short = options.commit.get(..7).unwrap_or(&options.commit);
    // Every parameter of the pipeline has no default, so every one gets a value here.
    let repo_url = options.repo_url.as_deref().unwrap_or(REPO_URL_UNSET);
    let params = json!([
        { "name": "repo-url", "value": repo_url },
        { "name": "revision", "value": options.commit },
    ]);
    let doc = json!({
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {
            "generateName": "shiplane-build-",
            "labels": {
                "app.kubernetes.io/managed-by": "shiplane",
                "shiplane.dev/commit": short,
            },
        },
        "spec": {
            "params": params,
            "pipelineSpec": {
                "params": [
                    { "name": "repo-url", "type": "string", "description": "Clone URL of the source repository." },
                    { "name": "revision", "type": "string", "description": "Commit to build." },
                ],
                "workspaces": [{ "name": "source" }],
                "tasks": tasks,
            },
            "workspaces": [{
                "name": "source",
                "volumeClaimTemplate": { "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": { "requests": { "storage": "1Gi" } },
                }},
            }],
        },
    });
    to_yaml(&doc)
}
