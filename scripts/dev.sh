#!/usr/bin/env bash
# Runs OnAir on this machine, all on one origin as CloudFront serves it in production:
#   - the pages from static/ and the API paths on http://127.0.0.1:$PORT (the dev server),
#   - the functions under `cargo lambda watch` at their production paths (room_events gets the
#     stand-in's signed room status callbacks there directly, as Twilio calls the API directly),
#   - the project's Twilio stand-in (REST + WHIP/WHEP media relay) when no Twilio credentials
#     are in .env; with TWILIO_* credentials in .env it uses real Twilio and starts no stand-in.
# Ctrl-C stops everything it started.
#
#   scripts/dev.sh          (PORT=8080 API_PORT=9000 STANDIN_PORT=4010 by default)
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8080}"
API_PORT="${API_PORT:-9000}"
STANDIN_PORT="${STANDIN_PORT:-4010}"
BIN_DIR="${CARGO_TARGET_DIR:-target}/debug"
RUN_DIR="target/dev"
mkdir -p "$RUN_DIR"
ENV_FILE="$RUN_DIR/functions.env"

scripts/setup.sh >/dev/null

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# Starts a command in its own process group so cleanup stops its children too.
start() { setsid "$@" & pids+=("$!"); }
wait_port() {
  for _ in $(seq 1 1500); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.2
  done
  echo "nothing listens on port $1" >&2
  return 1
}
env_has() { [ -f .env ] && grep -Eq "^[[:space:]]*$1=." .env; }
# The last value of a key in .env, without quotes; empty when absent.
env_value() {
  [ -f .env ] || return 0
  sed -n "s/^[[:space:]]*$1=//p" .env | tail -n 1 | tr -d "\"'"
}
# The dev server sends the production security headers of this audience mode (live mode lets
# the Live Player reach its hosts), so the mode comes from where the functions get it.
audience_mode="${AUDIENCE_MODE:-$(env_value AUDIENCE_MODE)}"

echo "Building the functions, the stand-in and the dev server (first time: a few minutes)..."
cargo build --quiet --workspace --bins

if env_has TWILIO_API_KEY_SECRET; then
  echo "Using real Twilio with the credentials in .env (no stand-in)."
  env_has HOST_PASSWORD || env_has HOST_PASSWORD_HASH \
    || { echo "Set HOST_PASSWORD (or HOST_PASSWORD_HASH) in .env too." >&2; exit 1; }
  : > "$ENV_FILE"
  password="(HOST_PASSWORD from .env)"
else
  password="${HOST_PASSWORD:-$(head -c 9 /dev/urandom | base64 | tr '+/' 'xy')}"
  # The stand-in's local account; the functions get the same values.
  export STANDIN_ACCOUNT_SID=AC00000000000000000000000000000000
  export STANDIN_AUTH_TOKEN=standin-auth-token-0000000000000
  export STANDIN_API_KEY_SID=SK00000000000000000000000000000000
  export STANDIN_API_KEY_SECRET=standin-api-key-secret-000000000
  standin_args=(--bind 127.0.0.1 --port "$STANDIN_PORT")
  if [ "$audience_mode" = ivs ]; then
    # The stand-in plays Amazon IVS too: a P-384 key pair made for this run (never kept in the
    # repository), its public half imported by the stand-in as the stack imports it into IVS;
    # stages' WHIP endpoints on this origin, so the host page's CSP ('self') lets it publish.
    ivs_key="$RUN_DIR/ivs-private.pem"
    openssl ecparam -name secp384r1 -genkey -noout 2>/dev/null \
      | openssl pkcs8 -topk8 -nocrypt -out "$ivs_key"
    chmod 600 "$ivs_key"
    openssl pkey -in "$ivs_key" -pubout -out "$RUN_DIR/ivs-public.pem"
    export STANDIN_AWS_ACCESS_KEY_ID=AKIDSTANDIN0000000000
    export STANDIN_AWS_SECRET_ACCESS_KEY=standin-aws-secret-key
    standin_args+=(--ivs-public-key-file "$RUN_DIR/ivs-public.pem"
      --ivs-whip-base "http://127.0.0.1:$PORT/media")
  fi
  start "$BIN_DIR/twilio-standin" "${standin_args[@]}"
  cat > "$ENV_FILE" <<ENV
TWILIO_VIDEO_BASE_URL=http://127.0.0.1:$STANDIN_PORT
TWILIO_MEDIA_BASE_URL=http://127.0.0.1:$STANDIN_PORT
TWILIO_ACCOUNT_SID=$STANDIN_ACCOUNT_SID
TWILIO_API_KEY_SID=$STANDIN_API_KEY_SID
TWILIO_API_KEY_SECRET=$STANDIN_API_KEY_SECRET
TWILIO_AUTH_TOKEN=$STANDIN_AUTH_TOKEN
ROOM_EVENTS_URL=http://127.0.0.1:$API_PORT/room_events
HOST_PASSWORD="$password"
MEDIA_PATH=${MEDIA_PATH:-whip}
WHIP_BASE_URL=/media
ENV
  [ -n "${AUDIENCE_MODE:-}" ] && echo "AUDIENCE_MODE=$AUDIENCE_MODE" >> "$ENV_FILE"
  if [ "$audience_mode" = ivs ]; then
    # One line per key in an env file: the PEM's newlines written as \n, single-quoted so that they
    # stay two characters (config reads both forms).
    cat >> "$ENV_FILE" <<ENV
IVS_ENDPOINT_URL=http://127.0.0.1:$STANDIN_PORT/ivs
IVS_PUBLIC_KEY_ARN=arn:aws:ivs:us-east-1:123456789012:public-key/standin0000
IVS_PRIVATE_KEY='$(awk '{printf "%s\\n", $0}' "$ivs_key")'
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=$STANDIN_AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$STANDIN_AWS_SECRET_ACCESS_KEY
ENV
  fi
  wait_port "$STANDIN_PORT"
fi

start cargo lambda watch --disable-cors -A 127.0.0.1 -P "$API_PORT" --env-file "$ENV_FILE"
start "$BIN_DIR/onair-dev-server" --bind 127.0.0.1 --port "$PORT" --static static \
  --api "http://127.0.0.1:$API_PORT" --media "http://127.0.0.1:$STANDIN_PORT" \
  --audience-mode "${audience_mode:-room}"
wait_port "$API_PORT"
wait_port "$PORT"

cat <<MSG

OnAir is running.
  Host page:      http://127.0.0.1:$PORT/host.html
  Audience page:  http://127.0.0.1:$PORT/
  Host password:  $password
Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
