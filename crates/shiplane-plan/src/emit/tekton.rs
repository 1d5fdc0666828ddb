//! Tekton: a `tekton.dev/v1` `PipelineRun` with an inline `pipelineSpec`.
//!
//! Tasks: `checkout` clones the repository at the planned commit into the `source` workspace
//! (a volume claim template), one `build-<service>` task per affected service builds and pushes
//! with Kaniko and records the artifact with `shiplane publish`, and `promote` runs after all of
//! them. The repository URL is the `repo-url` parameter: filled from
//! [`EmitOptions::repo_url`] when set, otherwise the submitter must supply it.

use serde_json::{Value, json};

use super::{BuildJob, EmitOptions, step_name, to_yaml};

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
                    "script": "#!/bin/sh\nset -eu\ngit init -q .\ngit fetch -q --depth 1 \"$(params.repo-url)\" \"$(params.revision)\"\ngit checkout -q FETCH_HEAD\n",
                }],
            },
        }));
        for job in jobs {
            let destination = format!("{}:{}", job.image, job.tag);
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
                            "args": [
                                format!("--context=$(workspaces.source.path)/{}", job.context),
                                format!("--dockerfile=$(workspaces.source.path)/{}", job.dockerfile),
                                format!("--destination={destination}"),
                            ],
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
        let command: Vec<String> = options
            .finish_command()
            .split(' ')
            .skip(1)
            .map(str::to_owned)
            .collect();
        tasks.push(json!({
            "name": "promote",
            "runAfter": after,
            "workspaces": workspace,
            "taskSpec": {
                "workspaces": task_workspaces,
                "steps": [{
                    "name": "promote",
                    "image": options.shiplane_image,
                    "workingDir": "$(workspaces.source.path)",
                    "args": command,
                }],
            },
        }));
    }
    let short = options.commit.get(..7).unwrap_or(&options.commit);
    let mut params = vec![json!({ "name": "revision", "value": options.commit })];
    if let Some(url) = &options.repo_url {
        params.insert(0, json!({ "name": "repo-url", "value": url }));
    }
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
