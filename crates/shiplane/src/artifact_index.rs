//! Reading the artifact index from the GitOps repository for `plan`: every
//! `artifacts/<service>.json` at the branch head, as a lookup from (service, fingerprint) to the
//! newest recorded image.

use std::collections::BTreeMap;

use shiplane_artifacts::{ServiceIndex, index_path};
use shiplane_gitops::GitopsRepo;
use shiplane_intent::EffectiveIntent;
use shiplane_plan::{Artifact, ArtifactLookup, Fingerprint};

use crate::output::{CliError, ErrorKind};
use crate::support::cache_dir;

/// The artifact index as read at one GitOps commit.
pub struct IndexLookup {
    services: BTreeMap<String, ServiceIndex>,
}

impl ArtifactLookup for IndexLookup {
    fn find(&self, service: &str, fingerprint: &Fingerprint) -> Option<Artifact> {
        let record = self.services.get(service)?.newest(&fingerprint.to_hex())?;
        Some(Artifact {
            image: record.repository.clone(),
            tag: record.tag.clone(),
            digest: record.digest.clone(),
            source_commit: record.source_commit.clone(),
        })
    }
}

/// Loads the index of the intent's services. `Ok(None)` when the intent names no place for it.
pub fn load(eff: &EffectiveIntent) -> Result<Option<IndexLookup>, CliError> {
    let Some(location) = &eff.artifact_index else {
        return Ok(None);
    };
    let repo = GitopsRepo::open(&location.repo, &location.branch, &cache_dir().join("gitops")).map_err(|e| {
        CliError::new(ErrorKind::Failure, format!("cannot read the artifact index: {e}"))
            .help("check that the GitOps repository is reachable, or pass --base REV to compare with a commit instead")
    })?;
    let mut services = BTreeMap::new();
    for name in eff.services.keys() {
        let bytes = repo.read_file(&index_path(name)).map_err(|e| {
            CliError::new(
                ErrorKind::Failure,
                format!("cannot read the artifact index: {e}"),
            )
        })?;
        if bytes.is_some() {
            let index = ServiceIndex::parse(name, bytes.as_deref())
                .map_err(|e| CliError::new(ErrorKind::Failure, e.to_string()))?;
            services.insert(name.clone(), index);
        }
    }
    Ok(Some(IndexLookup { services }))
}
