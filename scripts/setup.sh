#!/usr/bin/env bash
# Installs what building, running and testing OnAir needs on a fresh machine, and nothing that
# is already there: the Python-packaged tools (cargo-lambda, moto) and the Rust components.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pip=0
command -v cargo-lambda >/dev/null 2>&1 || need_pip=1
command -v moto_server >/dev/null 2>&1 || need_pip=1
python3 -c 'import moto, flask' >/dev/null 2>&1 || need_pip=1
if [ "$need_pip" = 1 ]; then
  echo "setup: installing Python tools from requirements-dev.txt"
  python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
echo "setup: cargo-lambda $(cargo-lambda --version 2>/dev/null | awk '{print $2}'), moto $(python3 -c 'import moto; print(moto.__version__)')"
