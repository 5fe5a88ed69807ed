#!/usr/bin/env bash
# Installs the real sender libraries that tests/it/webhook_interop.rs signs with:
#   PyPI standardwebhooks, svix and stripe in a venv, npm @octokit/webhooks-methods in node_modules.
# Target: $PINBRIDGE_INTEROP_DIR, else ${CARGO_TARGET_DIR:-<repo>/target}/interop (where the test looks).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${PINBRIDGE_INTEROP_DIR:-${CARGO_TARGET_DIR:-$repo/target}/interop}"
mkdir -p "$dir/node"
python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install --quiet --disable-pip-version-check \
  standardwebhooks==1.1.0 svix==2.9.1 stripe==16.1.0
npm install --prefix "$dir/node" --no-audit --no-fund --loglevel=error \
  @octokit/webhooks-methods@6.0.0
echo "interop senders installed in $dir"
