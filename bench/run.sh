#!/usr/bin/env bash
# Measures OnAir against the original design (issue 6) and prints one table, which it also writes
# with the date and the machine to docs/PERFORMANCE.md:
#   1. cold start of host_token and audience_token, Rust release binary against the original
#      Node.js Twilio Functions (bench/node), each a fresh process per run under the same minimal
#      Lambda Runtime API (bench/harness.py), Twilio = the stand-in;
#   1b. cold start of audience_token in ivs mode (the stand-in's IVS API);
#   2. warm CPU per request and tokens per second (criterion, as a library: bench/rust, the
#      `onair-bench` binary);
#   3. Twilio calls of 1,000 viewers within 60 s in live and room mode (IVS calls in ivs
#      mode), and of the same crowd
#      while every Twilio call fails (500, or a timeout) (onair-bench too);
#   3b. function invocations per second per stream of 1,000 viewers polling /status/<stream>
#      through the dev server's edge cache (onair-bench's status_crowd);
#   4. arm64 release zip of every function of scripts/lambdas.sh, peak RSS of a 1,000-request
#      burst.
#
# Usage: bench/run.sh [--runs N]    (N >= 20 cold starts per implementation and function; 30)
#
# Builds first, all incremental: one `cargo build --release` for everything x86_64 (the two
# measured functions, the stand-in, onair-bench: one dependency build, release profile), then the
# deployed functions for arm64 with build_lambdas (scripts/lambdas.sh, as check-deploy.sh and
# deploy.sh build them); then measures with nothing of its own compiling, and prints how long each
# step took. Build and criterion output goes to target/bench/logs/. CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
started_at=$(date +%s.%N)

runs=30
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --runs=*) runs="${1#*=}"; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# CRATES (the deployed functions) and build_lambdas.
source scripts/lambdas.sh
target_dir="$(cargo metadata --format-version 1 --no-deps --locked \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bench_dir="$target_dir/bench"
logs="$bench_dir/logs"
mkdir -p "$logs"

step_name=""
step_start=0
step_times=()  # "name=seconds" (a name holds no line break), for the harness's report
step() {
  step_name="$1"
  step_start=$(date +%s)
  printf '== bench: %s\n' "$1"
}
done_step() {
  local seconds=$(($(date +%s) - step_start))
  printf '   %d s\n' "$seconds"
  step_times+=("$step_name=$seconds")
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
# One cargo run, so the release profile's dependencies (panic=abort: the profile of the deployed
# binaries) build once for all four. The stand-in is optimised: its answers are inside every cold
# start it serves. Where the time went: target/cargo-timings/cargo-timing.html.
step "cargo build --release (x86_64: host_token, audience_token, the stand-in, the dev server, onair-bench)"
logged build-release cargo build --release --locked --timings --package host_token \
  --package audience_token --package twilio-standin --package onair-dev-server --package onair-bench
done_step

step "cargo lambda build --release --arm64 (${#CRATES[@]} functions)"
logged build-arm64 build_lambdas
done_step

# --- measurements --------------------------------------------------------------------------------
rm -rf "$bench_dir/results" "$bench_dir/criterion"
step "onair-bench --bench (criterion: warm CPU, tokens per second, the crowds)"
logged criterion env CRITERION_HOME="$bench_dir/criterion" ONAIR_BENCH_OUT="$bench_dir/results" \
  "$target_dir/release/onair-bench" --bench
done_step

step "cold starts ($runs runs each), bursts, zips"
python3 bench/harness.py \
  --release-dir "$target_dir/release" \
  --standin "$target_dir/release/twilio-standin" \
  --lambda-dir "$target_dir/lambda" \
  --functions "${CRATES[@]}" \
  --steps "$(printf '%s\n' "${step_times[@]}")" \
  --results "$bench_dir/results" \
  --criterion-home "$bench_dir/criterion" \
  --runs "$runs" \
  --started-at "$started_at"
done_step

echo "== bench: steps"
for entry in "${step_times[@]}"; do
  printf '%5d s  %s\n' "${entry##*=}" "${entry%=*}"
done
