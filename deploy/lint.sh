#!/bin/sh
# Lint the deploy YAML with yamllint (from PyPI). Idempotent; .ci/run may call it.
set -eu
cd "$(dirname "$0")"
if ! command -v yamllint >/dev/null 2>&1; then
    python3 -m pip install --quiet --user yamllint 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages --user yamllint
    PATH="$HOME/.local/bin:$PATH"
fi
yamllint -d '{extends: default, rules: {line-length: {max: 120}, document-start: disable, truthy: {check-keys: false}}}' \
    compose.yaml compose.postgres.yaml prometheus.yaml k8s/
