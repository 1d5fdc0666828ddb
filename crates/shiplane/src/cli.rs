//! The command line: clap structs only, no behaviour.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Shiplane — the release control plane for services shipped to Kubernetes through `GitOps`.
///
/// One hand-written `shiplane.yaml` describes services and lanes; Shiplane plans what each commit
/// affects, records images by digest, and writes each lane's desired state to a `GitOps` repository.
#[derive(Debug, Parser)]
#[command(
    name = "shiplane",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Examples:\n  shiplane check                      validate ./shiplane.yaml\n  shiplane check --intent deploy/shiplane.json --json\n  shiplane init --write               propose a starter intent for this repository\n  shiplane plan --base origin/main    which services this branch affects\n\nExit codes: 0 ok, 1 failure, 2 usage or validation error, 3 policy refusal."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Path of the intent file [default: shiplane.yaml, shiplane.json, deploy/shiplane.yaml or
    /// deploy/shiplane.json from the repository root]
    #[arg(long, global = true, value_name = "PATH", env = "SHIPLANE_INTENT")]
    pub intent: Option<PathBuf>,
    /// Print machine-readable JSON on stdout instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// Colour choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the intent file: every problem at once, at its line and column
    #[command(
        after_help = "Examples:\n  shiplane check\n  shiplane check --intent deploy/shiplane.yaml\n  shiplane check --show-effective          print the model after inheritance\n  shiplane check --json                    diagnostics as JSON objects\n\nExit status: 0 when valid (warnings allowed), 2 when invalid."
    )]
    Check(CheckArgs),
    /// Print the JSON Schema of the intent file
    #[command(
        after_help = "Examples:\n  shiplane schema > shiplane.schema.json\n  # in VS Code (YAML extension), first line of shiplane.yaml:\n  # yaml-language-server: $schema=./shiplane.schema.json"
    )]
    Schema,
    /// Propose a starter intent by scanning the repository
    #[command(
        after_help = "Examples:\n  shiplane init                 print the proposal\n  shiplane init --write         write it to shiplane.yaml\n  shiplane init --write --force overwrite an existing intent file"
    )]
    Init(InitArgs),
    /// Fingerprint every service and list what this commit must build
    #[command(
        after_help = "Examples:\n  shiplane plan --base origin/main                 table of affected / unchanged services\n  shiplane plan --base HEAD~1 --json               the stable JSON shape (docs/plan.md)\n  shiplane plan --base HEAD~1 --explain api        which changed files made `api` affected\n  shiplane plan --base $BASE --format github-matrix   for strategy.matrix via fromJSON\n  shiplane plan --base $BASE --format buildkite | buildkite-agent pipeline upload\n  shiplane plan --base $BASE --format tekton > pipelinerun.yaml\n\nA shallow clone is refused unless --deepen N is given."
    )]
    Plan(PlanArgs),
    /// Record an image CI pushed, by verified digest, for the service's fingerprint
    #[command(
        after_help = "Examples:\n  shiplane publish api --image registry.example.com/shop/api:sha-1a2b3c4\n  shiplane publish web --image oci-layout:./images:web:v1 --commit HEAD~1 --wait 2m\n\nWaits (with backoff, up to --wait) until the registry serves the tag, resolves its digest,\nverifies it with a HEAD on the digest, and records it in the artifact index in the GitOps\nrepository (one commit; none if already recorded)."
    )]
    Publish(PublishArgs),
    /// Work with images (pack a directory into an OCI image)
    #[command(subcommand)]
    Image(ImageCommand),
    /// Make a release the desired state of a lane, if policy allows: one GitOps commit
    #[command(
        disable_version_flag = true,
        after_help = "Examples:\n  shiplane promote dev --commit HEAD            images published for HEAD's fingerprints\n  shiplane promote staging --from dev --approve\n  shiplane promote prod --release 1a2b3c4-9f8e7d6c --version 1.4.0 --approve\n  shiplane promote prod --from staging --dry-run   the release and the files that would change\n\nExit status: 0 promoted (or nothing to change), 1 failure (e.g. images not published),\n2 usage, 3 refused by policy (order, version, require_tag_on, approvals, freeze, hold)."
    )]
    Promote(PromoteArgs),
    /// Restore a lane's earlier release in a new commit and hold the lane
    #[command(
        after_help = "Examples:\n  shiplane rollback prod                 back to the previous release\n  shiplane rollback prod --to 0.3.0      back to a version (or a release id)\n\nThe lane stays held (automatic promotions refused) until `shiplane release-hold LANE`."
    )]
    Rollback(RollbackArgs),
    /// Stop promotions into a lane until the hold is released
    Hold(HoldArgs),
    /// Resume promotions into a held lane
    ReleaseHold(LaneArg),
    /// Scale a lane to zero (a GitOps commit)
    Hibernate(LaneArg),
    /// Bring a hibernated lane back to the replicas of the intent (a GitOps commit)
    Wake(LaneArg),
    /// A lane's release history (newest first)
    History(LaneArg),
    /// Per lane and service: version, digest, source commit, age, hold, hibernation
    Status(StatusArgs),
    /// The services whose digests differ between two lanes
    Diff(DiffArgs),
    /// Write a lane's desired state (from its current release) to a directory, without committing
    Render(RenderArgs),
    /// See Shiplane work end to end on local repositories: plan, publish, promote, roll back
    #[command(
        after_help = "Examples:\n  shiplane quickstart                      in ./shiplane-quickstart\n  shiplane quickstart /tmp/try-shiplane --json\n  shiplane quickstart --registry 127.0.0.1:5000/quickstart   push images to a registry\n\nNeeds only this binary and git. It writes a small monorepo (source/), a bare GitOps\nrepository (gitops.git) and an OCI image layout (registry/) inside DIR, then runs the\ncommands a user would type, one line of summary each. Run again on the same DIR, it starts\nover in a fresh DIR/run-N and leaves earlier runs as they were; nothing outside DIR is touched."
    )]
    Quickstart(QuickstartArgs),
    /// Ephemeral environments: instances of template lanes (`env up`, `down`, `gc`, `list`)
    #[command(subcommand)]
    Env(EnvCommand),
    /// Registry hygiene: retention that never deletes what a lane runs or may roll back to
    #[command(subcommand)]
    Registry(RegistryCommand),
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Plan (and with --execute, carry out) the deletion of old tags under the intent's `retention`
    #[command(
        after_help = "Examples:\n  shiplane registry gc                       dry run: every tag, kept or deleted and why\n  shiplane registry gc --service api --json  one service's repositories, as JSON\n  shiplane registry gc --execute             delete, re-checking each digest first\n\nAlways kept, whatever the rules say: every digest in a lane's current release and its last\n`retention.rollback_window` releases (from the GitOps history), every artifact recorded more\nrecently than `retention.grace`, and the lanes' own tags. A digest is deleted only when every\ntag on it may go. Each deletion is appended to registry/audit.jsonl in the GitOps repository.\n\nExit status: 0 done (or nothing to delete), 1 a registry or GitOps failure, 2 usage."
    )]
    Gc(RegistryGcArgs),
}

#[derive(Debug, Args)]
pub struct RegistryGcArgs {
    /// Only these services' repositories (repeatable) [default: every service]
    #[arg(long, value_name = "SERVICE")]
    pub service: Vec<String>,
    /// Delete what the plan says may go (without it, nothing is changed)
    #[arg(long)]
    pub execute: bool,
    /// Accepted for clarity: a dry run is the default
    #[arg(long, conflicts_with = "execute")]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// Where to create the quickstart's repositories [default: ./shiplane-quickstart]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Push images to this registry prefix (`HOST/PREFIX`) instead of an OCI layout in DIR
    #[arg(long, value_name = "HOST/PREFIX")]
    pub registry: Option<String>,
}

#[derive(Debug, Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "clap flags: each bool is one command-line switch"
)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["commit", "from", "release"])))]
pub struct PromoteArgs {
    /// The lane to promote into
    pub lane: String,
    /// Make the release from the images published for this source commit
    #[arg(long, value_name = "REV")]
    pub commit: Option<String>,
    /// Take the current release of this lane
    #[arg(long, value_name = "LANE")]
    pub from: Option<String>,
    /// Take this release (id or version) from the upstream lane's history
    #[arg(long, value_name = "ID")]
    pub release: Option<String>,
    /// The version to give the release (versioned lanes; must be greater than every earlier one)
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// Count your approval (`SHIPLANE_ACTOR`, `GITHUB_ACTOR`, `BUILDKITE_BUILD_CREATOR` or git's `user.name`)
    #[arg(long)]
    pub approve: bool,
    /// Print the release and the files that would change; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Promote inside a freeze window (needs --reason)
    #[arg(long, requires = "reason")]
    pub override_freeze: bool,
    /// Promote into a held lane (needs --reason); the hold stays
    #[arg(long, requires = "reason")]
    pub override_hold: bool,
    /// Promote a commit older than (an ancestor of) the one the lane runs; recorded in the
    /// release. Without it such a promotion is refused (exit 3): CI jobs that finish out of order
    /// must not move a lane back. To go back on purpose, `shiplane rollback` is the tool.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Why a policy is overridden (recorded in the release)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The lane to roll back
    pub lane: String,
    /// The release id or version to go back to [default: the previous release]
    #[arg(long, value_name = "VERSION|RELEASE")]
    pub to: Option<String>,
    /// Why (recorded as the hold's reason)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct HoldArgs {
    /// The lane to hold
    pub lane: String,
    /// Why
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct LaneArg {
    /// The lane
    pub lane: String,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this lane [default: every lane]
    pub lane: Option<String>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// First lane
    pub a: String,
    /// Second lane
    pub b: String,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The lane
    pub lane: String,
    /// Render this release (id or version) of the lane's history instead of the current one
    #[arg(long, value_name = "ID")]
    pub release: Option<String>,
    /// Directory to write to [default: rendered/LANE]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Pack a directory into a single-layer OCI image and push it (same directory, same digest)
    #[command(
        after_help = "Examples:\n  shiplane image pack dist/ --to 127.0.0.1:5000/shop/web:dev\n  shiplane image pack site/ --to oci-layout:./images:web:v1 --workdir /srv --entrypoint /srv/server\n\nCredentials: SHIPLANE_REGISTRY_USERNAME / SHIPLANE_REGISTRY_PASSWORD or Docker's config.json.\nPlain HTTP is used only for loopback registries and hosts in SHIPLANE_INSECURE_REGISTRIES."
    )]
    Pack(ImagePackArgs),
}

#[derive(Debug, Args)]
pub struct ImagePackArgs {
    /// Directory to pack
    pub dir: PathBuf,
    /// Where to put the image: `REGISTRY/REPO:TAG` or `oci-layout:DIR[:REPO]:TAG`
    #[arg(long, value_name = "REF")]
    pub to: String,
    /// Entrypoint and its arguments (repeat, or give several values)
    #[arg(long, num_args = 1.., value_name = "CMD")]
    pub entrypoint: Vec<String>,
    /// Working directory inside the image
    #[arg(long, value_name = "PATH")]
    pub workdir: Option<String>,
    /// Environment variable KEY=VALUE (repeatable)
    #[arg(long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also print the effective model (inheritance and defaults resolved)
    #[arg(long)]
    pub show_effective: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Repository to scan [default: the repository root of the working directory]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Write the proposal to shiplane.yaml instead of printing it
    #[arg(long)]
    pub write: bool,
    /// Overwrite an existing intent file (with --write)
    #[arg(long, requires = "write")]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Commit to compare with (a branch, tag, sha or `HEAD~1`)
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Commit to plan
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub head: String,
    /// List the changed files that changed SERVICE's fingerprint, grouped by input rule
    #[arg(long, value_name = "SERVICE")]
    pub explain: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
    pub format: PlanFormat,
    /// In a shallow clone, fetch N more commits of history first (never guessed otherwise)
    #[arg(long, value_name = "N")]
    pub deepen: Option<u32>,
    /// Lane the pipeline's final step promotes to (buildkite, tekton); without it the final
    /// step runs `shiplane status`
    #[arg(long, value_name = "LANE")]
    pub promote_lane: Option<String>,
    /// Clone URL of the source repository for the Tekton run's `repo-url` parameter
    /// [default: the `origin` remote's URL, without credentials]
    #[arg(long, value_name = "URL")]
    pub repo_url: Option<String>,
}

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// A table for people.
    Table,
    /// The stable JSON document (same as --json).
    Json,
    /// `{"include": [...]}` for GitHub Actions `strategy.matrix`.
    GithubMatrix,
    /// A Buildkite pipeline for `buildkite-agent pipeline upload`.
    Buildkite,
    /// A Tekton `PipelineRun`.
    Tekton,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The service the image was built for
    pub service: String,
    /// The image CI pushed: `REGISTRY/REPO:TAG` or `oci-layout:DIR[:REPO]:TAG`
    #[arg(long, value_name = "REPO:TAG")]
    pub image: String,
    /// Source commit the image was built from
    #[arg(long, value_name = "REV")]
    pub commit: Option<String>,
    /// How long to wait for the registry to serve the image (`30s`, `10m`)
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub wait: String,
}

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Create (or update) an instance of a template lane from the images published for a commit
    #[command(
        after_help = "Examples:\n  shiplane env up pr-123 --template preview --commit HEAD\n\nWrites the instance under the template's GitOps path with `{name}` replaced (release.json\nwith `expires_at` = now + the template's ttl, catalog.json, manifests/), and the template's\nAppProject and ApplicationSet, in one commit. The same inputs again make no commit."
    )]
    Up(EnvUpArgs),
    /// Delete an instance (one GitOps commit; none when it does not exist)
    Down(EnvDownArgs),
    /// Delete every instance whose `expires_at` has passed (one GitOps commit)
    Gc(EnvGcArgs),
    /// The instances of every template lane, with their expiry
    List,
}

#[derive(Debug, Args)]
pub struct EnvUpArgs {
    /// Instance name (a DNS-1123 label, e.g. `pr-123`)
    pub name: String,
    /// The template lane (`template: true`)
    #[arg(long, value_name = "LANE")]
    pub template: String,
    /// Deploy the images published for this source commit
    #[arg(long, value_name = "REV")]
    pub commit: String,
}

#[derive(Debug, Args)]
pub struct EnvDownArgs {
    /// Instance name
    pub name: String,
    /// The template lane [default: the template that has an instance of that name]
    #[arg(long, value_name = "LANE")]
    pub template: Option<String>,
}

#[derive(Debug, Args)]
pub struct EnvGcArgs {
    /// Treat this time (RFC 3339) as now [default: the clock]
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
}
