//! Opening image stores for commands: one place that turns a user's reference into a registry
//! (HTTP, or `oci-layout:DIR`) with credentials from the environment and Docker's config, and
//! one current-thread runtime for the async registry client.

use shiplane_registry::{
    ConnectOptions, CredentialSources, NetworkTimeouts, OpenedLocation, RegistryError,
    registry_from_ref,
};

use crate::output::{CliError, ErrorKind};

/// Connection options from the process: credentials (`SHIPLANE_REGISTRY_*`, Docker's
/// `config.json`), the hosts allowed over plain HTTP (`SHIPLANE_INSECURE_REGISTRIES`,
/// comma-separated; loopback is always allowed) and the network limits
/// (`SHIPLANE_NETWORK_TIMEOUT`, seconds without progress; an invalid value is a usage error).
pub fn connect_options() -> Result<ConnectOptions, CliError> {
    let timeouts = NetworkTimeouts::from_env()
        .map_err(|e| CliError::new(ErrorKind::Invalid, e.to_string()))?;
    Ok(ConnectOptions {
        insecure_registries: std::env::var("SHIPLANE_INSECURE_REGISTRIES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        credentials: CredentialSources::from_process(),
        timeouts,
        ..ConnectOptions::default()
    })
}

/// Opens the store a reference names.
pub fn open(reference: &str) -> Result<OpenedLocation, CliError> {
    registry_from_ref(reference, &connect_options()?).map_err(registry_error)
}

/// A registry error as a CLI error: bad references are usage errors, the rest failures, each
/// with what to do next.
#[expect(
    clippy::needless_pass_by_value,
    reason = "shaped for `map_err(registry_error)`"
)]
pub fn registry_error(e: RegistryError) -> CliError {
    let help = match &e {
        RegistryError::Unauthorized { .. } => Some(
            "log in (`docker login`), or set SHIPLANE_REGISTRY_USERNAME and SHIPLANE_REGISTRY_PASSWORD",
        ),
        RegistryError::Forbidden { .. } => Some(
            "the credentials are valid but may not do this; check the account's permissions on the repository",
        ),
        RegistryError::InsecureRefused { .. } => {
            Some("use HTTPS, or allow the host with SHIPLANE_INSECURE_REGISTRIES=host:port")
        }
        RegistryError::InvalidReference { .. } => Some(
            "write references like `registry.example.com/team/app:tag` or `oci-layout:DIR:app:tag`",
        ),
        _ => None,
    };
    let status = if matches!(e, RegistryError::InvalidReference { .. }) {
        ErrorKind::Invalid
    } else {
        ErrorKind::Failure
    };
    let err = CliError::new(status, e.to_string());
    match help {
        Some(h) => err.help(h),
        None => err,
    }
}

/// Runs a future on a current-thread runtime (CLI commands do one thing at a time).
pub fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, CliError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            CliError::new(
                ErrorKind::Failure,
                format!("cannot start the async runtime: {e}"),
            )
        })?;
    Ok(rt.block_on(f))
}

/// Image stores opened by repository (`registry.example.com/team/app`,
/// `oci-layout:DIR:team/app`), one client per registry host or layout directory so that many
/// repositories of one registry share connections.
#[derive(Default)]
pub struct Stores {
    open: std::collections::BTreeMap<String, std::sync::Arc<dyn shiplane_registry::Registry>>,
}

impl Stores {
    /// The store holding `repository` and the repository's name inside it.
    pub fn repository(
        &mut self,
        repository: &str,
    ) -> Result<(std::sync::Arc<dyn shiplane_registry::Registry>, String), CliError> {
        // A repository string has no tag; add one so the oci-layout form `DIR:REPO` is not
        // read as `DIR:TAG`.
        let text = format!("{repository}:latest");
        let location = shiplane_registry::ImageLocation::parse(&text).map_err(registry_error)?;
        let key = match &location {
            shiplane_registry::ImageLocation::Remote(r) => r.registry.clone(),
            shiplane_registry::ImageLocation::Layout { dir, .. } => {
                format!("oci-layout:{}", dir.display())
            }
        };
        let name = location.repository().to_owned();
        if let Some(store) = self.open.get(&key) {
            return Ok((store.clone(), name));
        }
        let opened = open(&text)?;
        self.open.insert(key, opened.registry.clone());
        Ok((opened.registry, name))
    }
}
