//! From the effective intent to the planner's input. Shared by `plan` and (later) `publish`,
//! which must fingerprint a service exactly the way `plan` does.

use sha2::{Digest as _, Sha256};
use shiplane_intent::EffectiveIntent;
use shiplane_intent::effective::lane_var;
use shiplane_intent::template;
use shiplane_plan::{BuildSpec, PlanSpec, ServiceSpec};

/// Builds the planner's input from a valid effective intent.
pub fn plan_spec(eff: &EffectiveIntent) -> PlanSpec {
    PlanSpec {
        shared: eff.shared.clone(),
        ignore: eff.ignore.clone(),
        libraries: eff.libraries.clone(),
        services: eff
            .services
            .iter()
            .map(|(name, s)| {
                let spec = ServiceSpec {
                    paths: s.paths.clone(),
                    libraries: s.libraries.clone(),
                    services: s.services.clone(),
                    intent_hash: intent_hash(s),
                    build: BuildSpec {
                        context: s.build.context.clone(),
                        dockerfile: s.build.dockerfile.clone(),
                        target: s.build.target.clone(),
                        args: s.build.args.clone(),
                        image: s.image.as_ref().map(|i| build_image(eff, i)),
                        tag: s.tag.clone(),
                    },
                };
                (name.clone(), spec)
            })
            .collect(),
    }
}

/// The canonical hash of the build-relevant part of a service's intent: what goes into the
/// image (kind, build context, Dockerfile, target, arguments). Runtime settings (ports, env,
/// replicas) are deliberately left out: changing them re-renders the lane, not the image.
fn intent_hash(s: &shiplane_intent::EffectiveService) -> String {
    let canonical = serde_json::json!({
        "kind": s.kind,
        "build": {
            "context": s.build.context,
            "dockerfile": s.build.dockerfile,
            "target": s.build.target,
            "args": s.build.args,
        },
    });
    // serde_json's map keeps insertion order here, and the inputs are BTreeMaps: stable bytes.
    let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// The repository CI pushes to: the image template with the variables of the lane that builds
/// come into (the first lane without an upstream), so `{lane.registry_project}` resolves.
fn build_image(eff: &EffectiveIntent, image: &str) -> String {
    let entry = eff.lanes.values().find(|l| !l.template && l.from.is_none());
    match entry {
        Some(l) => template::substitute(image, &|v| lane_var(&l.name, &l.namespace, &l.vars, v)),
        None => image.to_owned(),
    }
}

/// The source repository holding the intent file.
pub fn source_repo(
    file: &crate::intent_file::IntentFile,
) -> Result<shiplane_git::Repo, crate::output::CliError> {
    let dir = file.path.parent().map_or_else(
        || std::path::Path::new(".").to_path_buf(),
        std::path::Path::to_path_buf,
    );
    let root = crate::intent_file::repo_root(&std::fs::canonicalize(&dir).unwrap_or(dir));
    shiplane_git::Repo::discover(&root)
        .map_err(|e| crate::output::CliError::new(crate::output::ErrorKind::Failure, e.to_string()))
}

/// Every service's fingerprint at `rev`, computed exactly as `plan` does, with the commit id.
pub fn fingerprints_at(
    repo: &shiplane_git::Repo,
    rev: &str,
    eff: &EffectiveIntent,
) -> Result<
    (
        shiplane_plan::Oid,
        std::collections::BTreeMap<String, shiplane_plan::Fingerprint>,
    ),
    crate::output::CliError,
> {
    use crate::output::{CliError, ErrorKind};
    let commit = repo
        .resolve(rev)
        .map_err(|e| CliError::new(ErrorKind::Invalid, e.to_string()))?;
    let listing = repo
        .tree_listing(commit)
        .map_err(|e| CliError::new(ErrorKind::Failure, e.to_string()))?;
    let spec = plan_spec(eff);
    let compiled = shiplane_plan::CompiledSpec::new(&spec)
        .map_err(|e| CliError::new(ErrorKind::Invalid, e.to_string()))?;
    let fps = shiplane_plan::fingerprints(&compiled, &listing)
        .into_iter()
        .map(|(s, f)| (s.clone(), f))
        .collect();
    Ok((commit, fps))
}
