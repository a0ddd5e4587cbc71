#!/usr/bin/env bash
# Runs OnAir on this machine: the five functions under `cargo lambda watch` at their production
# paths, against the project's Twilio stand-in (no account needed), or against real Twilio
# when `.env` holds Twilio credentials. Ctrl-C stops everything it started.
#
#   scripts/dev.sh            API on http://127.0.0.1:9000 (PORT=... to change)
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-9000}"
STANDIN_PORT="${STANDIN_PORT:-4010}"
RUN_DIR="target/dev"
mkdir -p "$RUN_DIR"
ENV_FILE="$RUN_DIR/functions.env"

scripts/setup.sh >/dev/null

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# Starts a command in its own process group so cleanup can stop its children too.
start() { setsid "$@" & pids+=("$!"); }

env_has() { [ -f .env ] && grep -Eq "^[[:space:]]*$1=." .env; }

if env_has TWILIO_API_KEY_SECRET; then
  echo "Using real Twilio with the credentials in .env (no stand-in)."
  : > "$ENV_FILE"
  env_has HOST_PASSWORD || { echo "Set HOST_PASSWORD in .env too." >&2; exit 1; }
  password="(HOST_PASSWORD from .env)"
else
  password="${HOST_PASSWORD:-$(head -c 9 /dev/urandom | base64 | tr '+/' 'xy')}"
  echo "Building the Twilio stand-in and the functions (first time: a few minutes)..."
  cargo build --quiet --bins --workspace
  # The stand-in's local account; the functions get the same values.
  export STANDIN_ACCOUNT_SID=AC00000000000000000000000000000000
  export STANDIN_AUTH_TOKEN=standin-auth-token-0000000000000
  export STANDIN_API_KEY_SID=SK00000000000000000000000000000000
  export STANDIN_API_KEY_SECRET=standin-api-key-secret-000000000
  start target/debug/twilio-standin --bind 127.0.0.1 --port "$STANDIN_PORT"
  cat > "$ENV_FILE" <<ENV
TWILIO_VIDEO_BASE_URL=http://127.0.0.1:$STANDIN_PORT
TWILIO_MEDIA_BASE_URL=http://127.0.0.1:$STANDIN_PORT
TWILIO_ACCOUNT_SID=$STANDIN_ACCOUNT_SID
TWILIO_API_KEY_SID=$STANDIN_API_KEY_SID
TWILIO_API_KEY_SECRET=$STANDIN_API_KEY_SECRET
TWILIO_AUTH_TOKEN=$STANDIN_AUTH_TOKEN
HOST_PASSWORD=$password
ENV
fi

start cargo lambda watch --disable-cors -A 127.0.0.1 -P "$PORT" --env-file "$ENV_FILE"

for _ in $(seq 1 600); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.2
done

cat <<MSG

OnAir API is running on http://127.0.0.1:$PORT
  POST /host_token /stream_start /stream_stop /audience_token /subscribe
  host password: $password
  try: curl -s -X POST -H 'content-type: application/json' \\
         -d '{"password":"$password"}' http://127.0.0.1:$PORT/host_token
Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
