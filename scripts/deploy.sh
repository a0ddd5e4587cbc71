#!/usr/bin/env bash
# Deploys OnAir to the AWS account of your current profile (docs/DEPLOY.md):
#   1. the pages' SDKs: npm ci && npm run vendor   (static/vendor/ from the pinned npm packages)
#   2. sam build                                    (cargo-lambda cross-builds arm64, no Docker)
#   3. sam deploy                                   (stack settings in samconfig.toml; no prompts)
#   4. uploads static/ to the pages bucket with per-file Cache-Control and Content-Type
#   5. invalidates CloudFront and prints the host and audience URLs
#
#   scripts/deploy.sh [--region R] [--profile P] [--parameter-overrides 'AudienceMode=live']
#   scripts/deploy.sh --parameter-overrides 'AudienceMode=ivs'    # Amazon IVS real-time mode: see below
#   scripts/deploy.sh --pages-only [--region R] [--profile P]   # steps 1, 4, 5 (no back-end change)
#   scripts/deploy.sh --teardown   [--region R] [--profile P]   # empties the bucket, sam delete
#
# STACK_NAME (default onair, as in samconfig.toml) selects the stack. Needs: the AWS CLI, the SAM
# CLI, cargo-lambda (requirements-dev.txt), Node/npm, and credentials that may create the stack.
#
# ivs mode (AudienceMode=ivs, asked for on the command line or in samconfig.toml): the functions
# sign the participant tokens with a P-384 key pair this script makes once with openssl and keeps
# OUTSIDE the repository, in $ONAIR_STATE_DIR (default ${XDG_STATE_HOME:-~/.local/state}/onair)
# under <stack>-<region>/ (mode 700, the key 600); later deploys reuse it. The public key goes to
# the stack as IvsPublicKeyPem (imported as an AWS::IVS::PublicKey); after the deploy the private
# key PEM is merged into the secret as IVS_PRIVATE_KEY (the secret's other keys kept; the value
# goes through a mode-600 file, never the command line).
# In ivs mode the key pair also needs openssl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

STACK_NAME="${STACK_NAME:-onair}"
source scripts/lambdas.sh
export SAM_CLI_TELEMETRY=0
mode=deploy
aws_args=()    # --region/--profile, for both aws and sam
sam_args=()    # everything else goes to sam deploy
while [ $# -gt 0 ]; do
  case "$1" in
    --pages-only) mode=pages ;;
    --teardown) mode=teardown ;;
    --region|--profile) aws_args+=("$1" "$2"); shift ;;
    --region=*|--profile=*) aws_args+=("$1") ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) sam_args+=("$1") ;;
  esac
  shift
done

die() { echo "deploy: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is missing: $2"; }
need aws "install the AWS CLI and configure credentials (aws configure)"
need sam "pip install -r requirements-dev.txt"

output() {
  aws "${aws_args[@]}" cloudformation describe-stacks --stack-name "$STACK_NAME" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

# --- teardown ------------------------------------------------------------------------------------
if [ "$mode" = teardown ]; then
  bucket="$(output PagesBucketName 2>/dev/null || true)"
  if [ -n "$bucket" ] && [ "$bucket" != "None" ]; then
    echo "== emptying s3://$bucket (CloudFormation cannot delete a bucket with objects)"
    aws "${aws_args[@]}" s3 rm "s3://$bucket" --recursive
  fi
  echo "== sam delete --stack-name $STACK_NAME"
  sam delete --stack-name "$STACK_NAME" "${aws_args[@]}"
  echo "Done. Secrets Manager may keep the deleted secret for a recovery window before it is gone."
  exit 0
fi

# --- 1. the pages' vendored SDKs -----------------------------------------------------------------
need npm "install Node.js 20 or newer"
echo "== npm ci && npm run vendor"
npm ci --no-audit --no-fund
npm run vendor
for page in static/index.html static/host.html static/vendor/twilio-video.min.js static/vendor/amazon-ivs-web-broadcast.js; do
  [ -f "$page" ] || die "$page is missing after npm run vendor"
done

# --- ivs mode: the participant tokens' key pair ---------------------------------------------------
# samconfig.toml's parameter overrides, read once (empty without the file or the setting).
samconfig_overrides=""
if [ "$mode" = deploy ] && [ -f samconfig.toml ]; then
  samconfig_overrides="$(python3 -c 'import tomllib; print(tomllib.load(open("samconfig.toml","rb")).get("default",{}).get("deploy",{}).get("parameters",{}).get("parameter_overrides",""))')"
fi

# The mode the deploy asks for: an --parameter-overrides on the command line replaces
# samconfig.toml's (as sam does), so it is read from there only without one.
requested_mode() {
  local i overrides=""
  for ((i = 0; i < ${#sam_args[@]}; i++)); do
    if [ "${sam_args[$i]}" = --parameter-overrides ]; then
      overrides=" ${sam_args[*]:$((i + 1))}"
      break
    fi
  done
  [ -n "$overrides" ] || overrides=" $samconfig_overrides"
  if [[ "$overrides" =~ [[:space:]]AudienceMode=\"?ivs\"?([[:space:]]|$) ]]; then echo ivs; else echo other; fi
}

# Where this stack's key pair lives (outside the repository), named by stack and region.
key_dir() {
  local region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}" i
  for ((i = 0; i < ${#aws_args[@]}; i++)); do
    case "${aws_args[$i]}" in
      --region) region="${aws_args[$((i + 1))]}" ;;
      --region=*) region="${aws_args[$i]#--region=}" ;;
    esac
  done
  [ -n "$region" ] || region="$(aws "${aws_args[@]}" configure get region 2>/dev/null || true)"
  echo "${ONAIR_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/onair}/$STACK_NAME-${region:-default}"
}

# Makes the P-384 key pair once (PKCS#8 private key, SPKI public key); prints the key's path.
ivs_key() {
  need openssl "install OpenSSL (the ivs mode's key pair)"
  local dir
  dir="$(key_dir)"
  case "$(realpath -m "$dir")/" in "$(pwd -P)"/*) die "the key directory $dir is inside the repository";; esac
  (umask 077 && mkdir -p "$dir")
  chmod 700 "$dir"
  if [ ! -s "$dir/ivs-participant-key.pem" ]; then
    echo "== ivs mode: making the participant-token key pair (P-384) in $dir" >&2
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$dir/ivs-participant-key.pem.new" \
      && mv "$dir/ivs-participant-key.pem.new" "$dir/ivs-participant-key.pem")
  fi
  chmod 600 "$dir/ivs-participant-key.pem"
  echo "$dir/ivs-participant-key.pem"
}

ivs_key_file=""
if [ "$mode" = deploy ] && [ "$(requested_mode)" = ivs ]; then
  ivs_key_file="$(ivs_key)"
  public_pem="$(openssl pkey -in "$ivs_key_file" -pubout)"
  # The public key joins the deploy's parameter overrides (a second --parameter-overrides would
  # replace the first, and one on the command line replaces samconfig.toml's, so it is merged).
  merged=()
  found=0
  for ((i = 0; i < ${#sam_args[@]}; i++)); do
    merged+=("${sam_args[$i]}")
    if [ "${sam_args[$i]}" = --parameter-overrides ] && [ $found = 0 ]; then
      found=1
      while [ $((i + 1)) -lt ${#sam_args[@]} ] && [[ "${sam_args[$((i + 1))]}" != --* ]]; do
        i=$((i + 1))
        merged+=("${sam_args[$i]}")
      done
      merged+=("IvsPublicKeyPem=\"$public_pem\"")
    fi
  done
  if [ $found = 0 ]; then
    merged+=(--parameter-overrides "$samconfig_overrides")
    merged+=("IvsPublicKeyPem=\"$public_pem\"")
  fi
  sam_args=("${merged[@]}")
elif [ "$mode" = pages ] && [ "$(aws "${aws_args[@]}" cloudformation describe-stacks --stack-name "$STACK_NAME" \
    --query "Stacks[0].Parameters[?ParameterKey=='AudienceMode'].ParameterValue" --output text 2>/dev/null)" = ivs ]; then
  # --pages-only on an ivs stack puts IVS_PRIVATE_KEY back into the secret (after the secret was
  # filled by hand, which replaces the whole JSON). Only the key the stack imported will do.
  [ -s "$(key_dir)/ivs-participant-key.pem" ] \
    || die "no ivs key pair in $(key_dir): run a full deploy (it makes one and imports its public key)"
  ivs_key_file="$(ivs_key)"
fi

if [ "$mode" = deploy ]; then
  # --- 2. build ----------------------------------------------------------------------------------
  need cargo-lambda "pip install -r requirements-dev.txt"
  rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$' \
    || rustup target add aarch64-unknown-linux-gnu
  echo "== cargo lambda build --release --arm64 (from clean about 10 to 15 minutes on 2 cores)"
  build_lambdas
  echo "== sam build"
  rm -rf .aws-sam/build
  sam build
  # A build that failed half-way can leave .aws-sam/build without a function, and sam deploy then
  # uploads the source folder (target/ included) instead: deploy only a complete build.
  [ -f .aws-sam/build/template.yaml ] || die "sam build left no .aws-sam/build/template.yaml"
  for fn in "${LOGICAL_IDS[@]}"; do
    [ -x ".aws-sam/build/$fn/bootstrap" ] || die "sam build left no $fn/bootstrap"
  done

  # --- 3. deploy ---------------------------------------------------------------------------------
  echo "== sam deploy --stack-name $STACK_NAME"
  sam deploy --template-file .aws-sam/build/template.yaml --stack-name "$STACK_NAME" \
    "${aws_args[@]}" "${sam_args[@]}"
fi

bucket="$(output PagesBucketName)"
distribution="$(output DistributionId)"
[ -n "$bucket" ] && [ "$bucket" != "None" ] || die "stack $STACK_NAME has no PagesBucketName output"

# --- 4. upload the pages ------------------------------------------------------------------------
content_type() {
  case "$1" in
    *.html) echo "text/html; charset=utf-8" ;;
    *.js|*.mjs) echo "text/javascript; charset=utf-8" ;;
    *.css) echo "text/css; charset=utf-8" ;;
    *.wasm) echo "application/wasm" ;;
    *.json|*.map) echo "application/json" ;;
    *.svg) echo "image/svg+xml" ;;
    *.png) echo "image/png" ;;
    *.ico) echo "image/x-icon" ;;
    *.woff2) echo "font/woff2" ;;
    *.txt) echo "text/plain; charset=utf-8" ;;
    *) echo "application/octet-stream" ;;
  esac
}
cache_control() {
  case "$1" in
    # Pages: always revalidated (cheap 304s), so a deploy shows at once.
    *.html) echo "no-cache" ;;
    # Vendored files whose name carries a version or a content hash never change: a year.
    vendor/*[0-9][.-][0-9]*[.-][0-9]* | vendor/*[.-][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f].*)
      echo "public, max-age=31536000, immutable" ;;
    # Other vendored SDK files (pinned in package.json, unversioned names): a day, so an SDK
    # upgrade reaches returning browsers within a day.
    vendor/*) echo "public, max-age=86400" ;;
    # Our own JS and CSS (unhashed names): revalidated like the pages, so pages and scripts match.
    *) echo "no-cache" ;;
  esac
}
upload() {
  local key="$1"
  aws "${aws_args[@]}" s3 cp "static/$key" "s3://$bucket/$key" --only-show-errors \
    --content-type "$(content_type "$key")" --cache-control "$(cache_control "$key")"
  printf '  %-60s %s\n' "$key" "$(cache_control "$key")"
}

echo "== uploading static/ to s3://$bucket"
mapfile -t keys < <(cd static && find . -type f ! -name '.*' | sed 's|^\./||' | LC_ALL=C sort)
# Assets first, pages last: a new page never references an asset that is not there yet.
for key in "${keys[@]}"; do case "$key" in *.html) ;; *) upload "$key" ;; esac; done
for key in "${keys[@]}"; do case "$key" in *.html) upload "$key" ;; esac; done
# Then remove what static/ no longer has.
mapfile -t remote < <(aws "${aws_args[@]}" s3api list-objects-v2 --bucket "$bucket" \
  --query 'Contents[].Key' --output text | tr '\t' '\n' | grep -v '^None$' || true)
for key in "${remote[@]}"; do
  if [ -n "$key" ] && [ ! -f "static/$key" ]; then
    aws "${aws_args[@]}" s3 rm "s3://$bucket/$key" --only-show-errors
    echo "  removed $key"
  fi
done

# --- 5. invalidate and report ------------------------------------------------------------------
echo "== invalidating CloudFront $distribution"
aws "${aws_args[@]}" cloudfront create-invalidation --distribution-id "$distribution" \
  --paths '/*' --query 'Invalidation.Id' --output text

secret="$(output TwilioSecretArn)"
# ivs mode: the private key into the secret as IVS_PRIVATE_KEY, the other keys kept. The secret
# is read for this (and only in this mode); the new value goes through a mode-600 file in the key
# directory, removed at once, never through the command line.
placeholders=0
if [ -n "$ivs_key_file" ]; then
  staged="$(dirname "$ivs_key_file")/secret.json"
  trap 'rm -f "$staged"' EXIT
  (umask 077 && aws "${aws_args[@]}" secretsmanager get-secret-value --secret-id "$secret" \
    --query SecretString --output text > "$staged")
  status="$(python3 - "$staged" "$ivs_key_file" <<'PY'
import json, sys
staged, key_file = sys.argv[1], sys.argv[2]
secret = json.load(open(staged))
key = open(key_file).read()
changed = secret.get("IVS_PRIVATE_KEY") != key
secret["IVS_PRIVATE_KEY"] = key
with open(staged, "w") as out:
    json.dump(secret, out)
print(("changed" if changed else "same") + (" placeholders" if not secret.get("TWILIO_ACCOUNT_SID") else ""))
PY
)"
  if [[ "$status" == changed* ]]; then
    echo "== ivs mode: IVS_PRIVATE_KEY into the secret"
    aws "${aws_args[@]}" secretsmanager put-secret-value --secret-id "$secret" \
      --secret-string "file://$staged" --query VersionId --output text >/dev/null
  fi
  rm -f "$staged"
  [[ "$status" == *placeholders ]] && placeholders=1
else
  # A secret still holding its placeholders has only its first version: say so (never read it).
  versions="$(aws "${aws_args[@]}" secretsmanager list-secret-version-ids --secret-id "$secret" \
    --query 'length(Versions)' --output text 2>/dev/null || echo '?')"
  [ "$versions" = "1" ] && placeholders=1
fi
if [ "$placeholders" = 1 ]; then
  cat >&2 <<MSG

NOTE: the Twilio secret still holds its placeholders; the functions will not start until it is
filled. See docs/DEPLOY.md ("Fill the secret"):
  aws secretsmanager put-secret-value --secret-id '$secret' --secret-string file://onair-secret.json
MSG
fi

cat <<MSG

OnAir is deployed (stack $STACK_NAME). CloudFront may take a few minutes to serve new pages.
  host page:      $(output HostPageUrl)
  audience page:  $(output AudiencePageUrl)   (the stream "main"; another stream: ?stream=<name>)
MSG
