#!/usr/bin/env bash
# CI stage for the deployment (called by scripts/test.sh; runs on its own too). No AWS needed:
#   1. tools        installs what is missing or off its pin (requirements-dev.txt,
#                   deploy_tests/requirements.txt), the Rust arm64 target, qemu for step 8
#   2. cfn-lint     template.yaml
#   3. sam validate --lint, and the plain SAM validation
#   4. pytest       deploy_tests/: what the template guarantees (IAM scope, routes, caching,
#                   headers, private bucket, throttles, schedule, log retention, outputs), that
#                   the dev server sends the template's security headers (builds the workspace's
#                   binaries, a no-op after scripts/test.sh's build), and what scripts/deploy.sh
#                   uploads (fake aws/sam/npm)
#   5. cargo lambda build --release --arm64, every deployed function (scripts/lambdas.sh) in one cargo run
#   6. sam build    the same command a deploy runs; finds step 5's artifacts up to date
#   7. sizes        each function zipped as Lambda gets it (docs/SIZES.md), with an upper bound
#   8. smoke        the arm64 host_token bootstrap under qemu answers requests (deploy_tests/smoke_arm64.py)
# and prints how long each step took.
#
# CARGO_TARGET_DIR is honoured (sam build's cargo-lambda builder uses it too); otherwise the
# workspace's target/. ONAIR_SKIP_SMOKE=1 skips step 8 where qemu cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."
export SAM_CLI_TELEMETRY=0

source scripts/lambdas.sh
# A zipped function above this is a mistake (debug build, a default feature pulling in a second
# TLS stack...): today they are about 2 MB. Lambda's own limit is 50 MB.
MAX_ZIP_BYTES=$((6 * 1024 * 1024))

timings=()
stage_name=""
stage_start=0
stage() {
  finish_stage
  stage_name="$1"
  stage_start=$(date +%s)
  echo "== check-deploy: $1"
}
finish_stage() {
  if [ -n "$stage_name" ]; then
    timings+=("$(printf '%5d s  %s' "$(($(date +%s) - stage_start))" "$stage_name")")
  fi
  stage_name=""
}
all_start=$(date +%s)

# --- 1. tools ------------------------------------------------------------------------------------
stage "tools"
# Every pinned Python requirement of both files present at its pinned version?
if ! python3 - requirements-dev.txt deploy_tests/requirements.txt <<'PY'
import re, sys
from importlib.metadata import version, PackageNotFoundError
bad = []
for path in sys.argv[1:]:
    for line in open(path):
        line = line.split("#")[0].strip()
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", line)
        if not m:
            continue
        try:
            if version(m[1]) != m[3]:
                bad.append(f"{m[1]} {version(m[1])} (want {m[3]})")
        except PackageNotFoundError:
            bad.append(f"{m[1]} (missing)")
if bad:
    print("check-deploy: to install: " + ", ".join(bad))
    sys.exit(1)
PY
then
  python3 -m pip install --quiet --disable-pip-version-check \
    -r requirements-dev.txt -r deploy_tests/requirements.txt
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi
for tool in sam cfn-lint cargo-lambda moto_server; do
  command -v "$tool" >/dev/null || { echo "check-deploy: $tool not on PATH after install" >&2; exit 1; }
done
rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$' \
  || rustup target add aarch64-unknown-linux-gnu
smoke=1
if [ "${ONAIR_SKIP_SMOKE:-0}" = 1 ]; then
  smoke=0
elif ! command -v qemu-aarch64 >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "check-deploy: installing qemu-user and libc6-arm64-cross (Debian)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user libc6-arm64-cross >/dev/null
  else
    echo "check-deploy: qemu-aarch64 is missing: apt-get install qemu-user libc6-arm64-cross" >&2
    echo "              (or ONAIR_SKIP_SMOKE=1 to skip the arm64 smoke test)" >&2
    exit 1
  fi
fi
echo "sam $(sam --version | awk '{print $NF}'), cfn-lint $(cfn-lint --version | awk '{print $NF}'), cargo-lambda $(cargo lambda --version | awk '{print $2}')"

# --- 2-4. template checks ------------------------------------------------------------------------
stage "cfn-lint"
cfn-lint template.yaml

stage "sam validate"
sam validate --lint
sam validate --region "${AWS_DEFAULT_REGION:-us-east-1}"

stage "template tests (pytest deploy_tests)"
python3 -m pytest deploy_tests -q -p no:cacheprovider

# --- 5-6. build ----------------------------------------------------------------------------------
target_dir="$(cargo metadata --format-version 1 --no-deps --locked \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

stage "cargo lambda build --release --arm64 (${#CRATES[@]} functions)"
build_lambdas

stage "sam build"
rm -rf .aws-sam/build
sam build
for i in "${!CRATES[@]}"; do
  bootstrap=".aws-sam/build/${LOGICAL_IDS[$i]}/bootstrap"
  [ -x "$bootstrap" ] || { echo "check-deploy: $bootstrap missing" >&2; exit 1; }
  cmp -s "$bootstrap" "$target_dir/lambda/${CRATES[$i]}/bootstrap" \
    || { echo "check-deploy: $bootstrap differs from the cargo lambda build" >&2; exit 1; }
  if command -v file >/dev/null && ! file -b "$bootstrap" | grep -q 'ARM aarch64'; then
    echo "check-deploy: $bootstrap is not an arm64 executable: $(file -b "$bootstrap")" >&2; exit 1
  fi
done

# --- 7. sizes ------------------------------------------------------------------------------------
stage "sizes"
python3 - "$MAX_ZIP_BYTES" "${LOGICAL_IDS[@]}" <<'PY'
import io, os, sys, zipfile
limit, ids = int(sys.argv[1]), sys.argv[2:]
print(f"| function | bootstrap | zipped |")
print(f"|---|---:|---:|")
too_big = []
for logical_id in ids:
    path = f".aws-sam/build/{logical_id}/bootstrap"
    raw = os.path.getsize(path)
    buf = io.BytesIO()
    # As sam deploy packages it: a deflated zip holding one executable `bootstrap`.
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, open(path, "rb").read())
    zipped = len(buf.getvalue())
    print(f"| {logical_id} | {raw / 1e6:.2f} MB ({raw} B) | {zipped / 1e6:.2f} MB ({zipped} B) |")
    if zipped > limit:
        too_big.append(logical_id)
if too_big:
    sys.exit(f"check-deploy: zipped over {limit} bytes: {too_big}")
PY

# --- 8. the deployable binary answers ------------------------------------------------------------
if [ "$smoke" = 1 ]; then
  stage "arm64 smoke test (qemu, host_token)"
  cargo build --locked --package twilio-standin --bin twilio-standin
  python3 deploy_tests/smoke_arm64.py \
    --bootstrap .aws-sam/build/HostTokenFunction/bootstrap \
    --standin "$target_dir/debug/twilio-standin"
else
  echo "== check-deploy: arm64 smoke test SKIPPED (ONAIR_SKIP_SMOKE=1)"
fi

finish_stage
echo "== check-deploy: passed in $(($(date +%s) - all_start)) s"
printf '%s\n' "${timings[@]}"
