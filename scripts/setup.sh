#!/usr/bin/env bash
# Installs what building, running and testing OnAir needs on a fresh machine, and nothing that
# is already there: Debian packages (Chromium for the browser tests; OpenSSL headers for the
# media relay's DTLS), the Python-packaged tools (cargo-lambda, moto), the Rust components and
# the pinned npm packages (SDKs the pages vendor, playwright-core).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_missing=()
for pkg in chromium libssl-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || apt_missing+=("$pkg")
done
if [ "${#apt_missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${apt_missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi

need_pip=0
command -v cargo-lambda >/dev/null 2>&1 || need_pip=1
command -v moto_server >/dev/null 2>&1 || need_pip=1
python3 -c 'import moto, flask' >/dev/null 2>&1 || need_pip=1
if [ "$need_pip" = 1 ]; then
  echo "setup: installing Python tools from requirements-dev.txt"
  python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  echo "setup: installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent vendor >/dev/null
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
echo "setup: cargo-lambda $(cargo lambda --version 2>/dev/null | awk '{print $2}'), moto $(python3 -c 'import moto; print(moto.__version__)')"
