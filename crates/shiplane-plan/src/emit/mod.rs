//! Pipeline emitters: turn a [`Plan`] into a dynamic CI pipeline that builds only the affected
//! services.
//!
//! This module owns the shape of each CI engine's document (GitHub Actions matrix JSON,
//! Buildkite `pipeline upload` YAML, Tekton `PipelineRun` YAML). It must not know how the plan
//! was made, and it never reads the clock or the environment: the same plan and options give
//! the same bytes, so a pipeline can be diffed and cached.

mod buildkite;
mod github;
mod tekton;

pub use buildkite::buildkite;
pub use github::github_matrix;
pub use tekton::tekton;

use std::collections::BTreeMap;

use sha2::Digest as _;

use crate::error::PlanError;
use crate::fingerprint::Fingerprint;
use crate::plan::Plan;
use crate::spec::PlanSpec;

/// One image to build: what every emitter puts in a matrix row, step or task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildJob {
    /// Service name.
    pub service: String,
    /// Build context.
    pub context: String,
    /// Dockerfile.
    pub dockerfile: String,
    /// Multi-stage build target; `None` builds the Dockerfile's last stage.
    pub target: Option<String>,
    /// Build arguments, sorted by name.
    pub args: BTreeMap<String, String>,
    /// Image repository; the bare service name when the intent configures no registry (a
    /// local image, which cannot be pushed).
    pub image: String,
    /// Rendered tag.
    pub tag: String,
    /// Head fingerprint.
    pub fingerprint: Fingerprint,
}

/// Settings shared by the emitters. Defaults are documented per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmitOptions {
    /// Full id of the commit being built (fills `{commit}` and `--commit`).
    pub commit: String,
    /// Lane to promote once every image is built and published; `None` ends the pipeline with
    /// `shiplane status` instead.
    pub promote_lane: Option<String>,
    /// Tekton: clone URL of the source repository (the `repo-url` parameter). `None` gives the
    /// parameter [`REPO_URL_UNSET`], which the checkout step refuses with a message saying
    /// what to set, so a run is never submitted with a parameter missing.
    pub repo_url: Option<String>,
    /// Tekton: image that runs the build (default Kaniko's executor).
    pub builder_image: String,
    /// Tekton: image with the `shiplane` binary (default `shiplane:latest`).
    pub shiplane_image: String,
    /// Tekton: image with `git` for the checkout task (default `alpine/git:2.47.2`).
    pub git_image: String,
}

impl EmitOptions {
    /// Options for `commit` with the defaults.
    pub fn new(commit: impl Into<String>) -> EmitOptions {
        EmitOptions {
            commit: commit.into(),
            promote_lane: None,
            repo_url: None,
            builder_image: "gcr.io/kaniko-project/executor:v1.23.2".to_owned(),
            shiplane_image: "shiplane:latest".to_owned(),
            git_image: "alpine/git:2.47.2".to_owned(),
        }
    }

    /// The pipeline's last step, after every build: what it runs and what it is called. It is
    /// named for what it does, so a pipeline without a lane has no step called "promote".
    fn finish(&self) -> Finish {
        match &self.promote_lane {
            Some(lane) => Finish {
                name: "promote",
                label: format!(":rocket: promote to {lane}"),
                args: vec![
                    "promote".to_owned(),
                    lane.clone(),
                    "--commit".to_owned(),
                    self.commit.clone(),
                ],
            },
            None => Finish {
                name: "status",
                label: ":clipboard: status".to_owned(),
                args: vec!["status".to_owned()],
            },
        }
    }
}

/// The `repo-url` a Tekton run gets when no clone URL is known: a value (the parameter has no
/// default, so Tekton would refuse a run without one) that the checkout step recognises.
pub const REPO_URL_UNSET: &str = "unset:pass-repo-url-to-shiplane-plan";

/// The final step of a pipeline.
struct Finish {
    /// Step key / task name.
    name: &'static str,
    /// Buildkite label.
    label: String,
    /// Arguments of `shiplane`.
    args: Vec<String>,
}

impl Finish {
    /// The command line, for a shell.
    fn command(&self) -> String {
        format!("shiplane {}", self.args.join(" "))
    }
}

/// The build jobs of a plan's affected services, in service order, with tags rendered.
pub fn build_jobs(plan: &Plan, spec: &PlanSpec, commit: &str) -> Result<Vec<BuildJob>, PlanError> {
    plan.affected
        .iter()
        .filter_map(|a| spec.services.get(&a.service).map(|s| (a, s)))
        .map(|(a, s)| {
            let tag = render_tag(&s.build.tag, &a.service, commit, &a.fingerprint)?;
            Ok(BuildJob {
                service: a.service.clone(),
                context: s.build.context.clone(),
                dockerfile: s.build.dockerfile.clone(),
                target: s.build.target.clone(),
                args: s.build.args.clone(),
                image: s.build.image.clone().unwrap_or_else(|| a.service.clone()),
                tag,
                fingerprint: a.fingerprint,
            })
        })
        .collect()
}

/// Substitutes `{commit}`, `{commit.short}` (7 hex digits), `{fingerprint}`,
/// `{fingerprint.short}` (12) and `{service}` in a tag template.
pub fn render_tag(
    template: &str,
    service: &str,
    commit: &str,
    fingerprint: &Fingerprint,
) -> Result<String, PlanError> {
    let mut out = String::with_capacity(template.len() + 40);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(PlanError::UnclosedTagVariable {
                service: service.to_owned(),
                template: template.to_owned(),
            });
        };
        match &after[..close] {
            "commit" => out.push_str(commit),
            "commit.short" => out.push_str(commit.get(..7).unwrap_or(commit)),
            "fingerprint" => out.push_str(&fingerprint.to_hex()),
            "fingerprint.short" => out.push_str(&fingerprint.short()),
            "service" => out.push_str(service),
            other => {
                return Err(PlanError::UnknownTagVariable {
                    service: service.to_owned(),
                    template: template.to_owned(),
                    variable: other.to_owned(),
                });
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A name usable as a Buildkite key or a Tekton task name (a DNS-1123 label of at most 63
/// characters): `prefix-service`, shortened with a hash suffix when too long.
fn step_name(prefix: &str, service: &str) -> String {
    let name = format!("{prefix}-{service}");
    if name.len() <= 63 {
        return name;
    }
    let hash = hex::encode(sha2::Sha256::digest(service.as_bytes()));
    let mut cut = 54;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{}", name[..cut].trim_end_matches('-'), &hash[..8])
}

/// Serializes a JSON value as YAML. Every emitter builds a `serde_json::Value` with keys in a
/// fixed insertion order, so the YAML is deterministic and a JSON-compatible tree.
fn to_yaml(value: &serde_json::Value) -> String {
    // serde_json::Value always serializes; a failure here would be a serializer bug.
    serde_saphyr::to_string(value).unwrap_or_else(|e| format!("# YAML serialization failed: {e}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp() -> Fingerprint {
        Fingerprint([0xab; 32])
    }

    #[test]
    fn tag_templates() {
        let commit = "0123456789abcdef0123456789abcdef01234567";
        for (template, expected) in [
            ("sha-{commit.short}", "sha-0123456"),
            ("{commit}", commit),
            ("fp-{fingerprint.short}", "fp-abababababab"),
            (
                "{service}-{fingerprint}",
                &format!("api-{}", "ab".repeat(32)),
            ),
            ("latest", "latest"),
        ] {
            assert_eq!(
                render_tag(template, "api", commit, &fp()).unwrap(),
                expected
            );
        }
        let err = render_tag("v{version}", "api", commit, &fp())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`{version}`") && err.contains("service `api`"),
            "{err}"
        );
        assert!(render_tag("v{commit", "api", commit, &fp()).is_err());
    }

    #[test]
    fn step_names_fit_dns_labels() {
        assert_eq!(step_name("build", "api"), "build-api");
        let long = "a".repeat(63);
        let name = step_name("build", &long);
        assert!(name.len() <= 63 && name.starts_with("build-aaa"), "{name}");
        assert_ne!(
            step_name("build", &long),
            step_name("build", &"a".repeat(62))
        );
    }
}
