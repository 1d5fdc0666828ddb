#!/usr/bin/env bash
# Runs Shiplane's whole test suite on a fresh Debian machine: installs what the tests need
# (real components, never stand-ins), then `cargo test` over the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh

# A persistent target directory outside the clone keeps repeated runs fast when one exists.
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d /work/target ] && [ -w /work/target ]; then
  export CARGO_TARGET_DIR=/work/target
fi
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
exec cargo test --workspace --locked "$@"
