#!/usr/bin/env bash
# Deploys OnAir to the AWS account of your current profile (docs/DEPLOY.md):
#   1. the pages' SDKs: npm ci && npm run vendor   (static/vendor/ from the pinned npm packages)
#   2. sam build                                    (cargo-lambda cross-builds arm64, no Docker)
#   3. sam deploy                                   (stack settings in samconfig.toml; no prompts)
#   4. uploads static/ to the pages bucket with per-file Cache-Control and Content-Type
#   5. invalidates CloudFront and prints the host and audience URLs
#
#   scripts/deploy.sh [--region R] [--profile P] [--parameter-overrides 'AudienceMode=live']
#   scripts/deploy.sh --pages-only [--region R] [--profile P]   # steps 1, 4, 5 (no back-end change)
#   scripts/deploy.sh --teardown   [--region R] [--profile P]   # empties the bucket, sam delete
#
# STACK_NAME (default onair, as in samconfig.toml) selects the stack. Needs: the AWS CLI, the SAM
# CLI, cargo-lambda (requirements-dev.txt), Node/npm, and credentials that may create the stack.
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
for page in static/index.html static/host.html static/vendor/twilio-video.min.js; do
  [ -f "$page" ] || die "$page is missing after npm run vendor"
done

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

# A secret still holding its placeholders has only its first version: say so (never read it).
secret="$(output TwilioSecretArn)"
versions="$(aws "${aws_args[@]}" secretsmanager list-secret-version-ids --secret-id "$secret" \
  --query 'length(Versions)' --output text 2>/dev/null || echo '?')"
if [ "$versions" = "1" ]; then
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
