//! `shiplane image pack DIR --to REF`: a single-layer OCI image of a directory, deterministic
//! (same directory, same digest), pushed to a registry or written to an `oci-layout:DIR`. For
//! static binaries and sites, tests and the quickstart; real builds use `BuildKit` or Kaniko.

use std::process::ExitCode;

use shiplane_registry::{PackOptions, pack_dir, push_image};

use crate::cli::ImagePackArgs;
use crate::output::{CliError, ErrorKind, Output};
use crate::registry;

pub fn pack(args: &ImagePackArgs, out: &Output) -> Result<ExitCode, CliError> {
    if !args.dir.is_dir() {
        return Err(CliError::new(
            ErrorKind::Invalid,
            format!("{} is not a directory", args.dir.display()),
        )
        .help("pass the directory whose files become the image's filesystem"));
    }
    let env = args
        .env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| {
                    CliError::new(ErrorKind::Invalid, format!("--env `{kv}` is not KEY=VALUE"))
                })
        })
        .collect::<Result<_, _>>()?;
    let options = PackOptions {
        entrypoint: (!args.entrypoint.is_empty()).then(|| args.entrypoint.clone()),
        workdir: args.workdir.clone(),
        env,
        labels: std::collections::BTreeMap::default(),
    };
    let packed = pack_dir(&args.dir, &options).map_err(registry::registry_error)?;
    let opened = registry::open(&args.to)?;
    let repository = opened.location.repository().to_owned();
    let tag = opened.location.tag().unwrap_or("latest").to_owned();
    let report = registry::block_on(push_image(
        opened.registry.as_ref(),
        &repository,
        &tag,
        &packed,
    ))?
    .map_err(registry::registry_error)?;
    let digest = report.digest.to_string();
    if out.json {
        out.print_json(&serde_json::json!({
            "reference": args.to,
            "repository": repository,
            "tag": tag,
            "digest": digest,
            "layer_digest": packed.digests.layer.to_string(),
            "blobs_uploaded": report.blobs_copied,
            "blobs_skipped": report.blobs_skipped,
        }));
    } else {
        crate::outln!(
            "{} packed {} → {} ({digest})",
            out.paint(Output::ok_style(), "✓"),
            args.dir.display(),
            args.to
        );
    }
    Ok(ExitCode::SUCCESS)
}
