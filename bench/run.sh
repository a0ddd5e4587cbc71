#!/usr/bin/env bash
# Measures OnAir against the original design (issue 6) and prints one table, which it also writes
# with the date and the machine to docs/PERFORMANCE.md:
#   1. cold start of host_token and audience_token, Rust release binary against the original
#      Node.js Twilio Functions (bench/node), each a fresh process per run under the same minimal
#      Lambda Runtime API (bench/harness.py), Twilio = the stand-in;
#   2. warm CPU per request and tokens per second (criterion: functions/*/benches);
#   3. Twilio calls of 1,000 viewers within 60 s in live and room mode (audience_token's bench);
#   4. arm64 release zip of every function, peak RSS of a 1,000-request burst.
#
# Usage: bench/run.sh [--runs N]    (N >= 20 cold starts per implementation and function; 30)
#
# Builds first (the criterion benches, x86_64 release binaries, the stand-in, the six arm64
# functions with cargo lambda; all incremental), then measures with nothing of its own compiling.
# Build and criterion output goes to target/bench/logs/. CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
started_at=$(date +%s.%N)

runs=30
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --runs=*) runs="${1#*=}"; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

FUNCTIONS=(host_token stream_start stream_stop audience_token subscribe reaper)
target_dir="$(cargo metadata --format-version 1 --no-deps --locked \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bench_dir="$target_dir/bench"
logs="$bench_dir/logs"
mkdir -p "$logs"

step_start=0
step() {
  step_start=$(date +%s)
  printf '== bench: %s\n' "$1"
}
done_step() {
  printf '   %d s\n' "$(($(date +%s) - step_start))"
}
# Runs a command with its output in a log; shows the log's end if it fails.
logged() {
  local log="$logs/$1.log"
  shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "bench: failed: $* (full log: $log)" >&2
    exit 1
  fi
}

# --- tools ---------------------------------------------------------------------------------------
step "tools"
for tool in cargo python3 node npm; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
if ! command -v cargo-lambda >/dev/null; then
  # The pin the project uses (requirements-dev.txt); it brings its own zig for arm64.
  logged pip python3 -m pip install --quiet --disable-pip-version-check \
    "$(grep -E '^cargo-lambda==' requirements-dev.txt)"
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi
rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$' \
  || logged rustup rustup target add aarch64-unknown-linux-gnu
if [ ! -d bench/node_modules ] || [ bench/package-lock.json -nt bench/node_modules ]; then
  logged npm npm ci --prefix bench --no-audit --no-fund --loglevel=error
fi
done_step

# --- builds --------------------------------------------------------------------------------------
step "cargo bench --no-run (criterion benches)"
logged build-benches cargo bench --locked --no-run --package host_token --package audience_token \
  --bench host_token --bench audience_token
done_step

step "cargo build --release (x86_64: host_token, audience_token)"
logged build-release cargo build --release --locked --package host_token --package audience_token
# A copy: `cargo bench` puts its own build of these binaries at the same paths.
mkdir -p "$bench_dir/bin"
cp "$target_dir/release/host_token" "$target_dir/release/audience_token" "$bench_dir/bin/"
done_step

step "cargo build --release (the Twilio stand-in)"
# Optimised: its answers are inside every cold start it serves.
logged build-standin cargo build --release --locked --package twilio-standin --bin twilio-standin
done_step

step "cargo lambda build --release --arm64 (six functions)"
packages=()
for fn in "${FUNCTIONS[@]}"; do packages+=(--package "$fn"); done
# The same cargo command as scripts/check-deploy.sh, so either reuses the other's build.
logged build-arm64 cargo lambda build --release --arm64 --locked "${packages[@]}" \
  --lambda-dir "$bench_dir/lambda-arm64"
done_step

# --- measurements --------------------------------------------------------------------------------
rm -rf "$bench_dir/results" "$bench_dir/criterion"
step "criterion: warm CPU, tokens per second, the crowd"
logged criterion env CRITERION_HOME="$bench_dir/criterion" ONAIR_BENCH_OUT="$bench_dir/results" \
  cargo bench --locked --package host_token --package audience_token \
  --bench host_token --bench audience_token
done_step

step "cold starts ($runs runs each), bursts, zips"
python3 bench/harness.py \
  --release-dir "$bench_dir/bin" \
  --standin "$target_dir/release/twilio-standin" \
  --lambda-dir "$bench_dir/lambda-arm64" \
  --results "$bench_dir/results" \
  --criterion-home "$bench_dir/criterion" \
  --runs "$runs" \
  --started-at "$started_at"
