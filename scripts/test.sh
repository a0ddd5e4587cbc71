#!/usr/bin/env bash
# The one test command: installs what is missing, checks formatting and lints, builds the
# function binaries once (so `cargo lambda watch` in the tests reuses them), then runs every
# test of the workspace. Tests start their own servers on free loopback ports and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export SAM_CLI_TELEMETRY=0

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo build (function binaries and the stand-in)"
cargo build --workspace --bins --locked
echo "== cargo test"
cargo test --workspace --locked "$@"
echo "== deployment checks (template, arm64 build, sizes, smoke test under qemu)"
scripts/check-deploy.sh
echo "== browser tests (Chromium against scripts/dev.sh)"
node --test --test-concurrency=1 browser_tests/
