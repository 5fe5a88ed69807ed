#!/usr/bin/env bash
# Validates the admin API's OpenAPI document (generated from the handlers' types) with a real
# validator: PyPI openapi-spec-validator, installed in a venv under target/openapi.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${CARGO_TARGET_DIR:-$PWD/target}/openapi"
mkdir -p "$dir"
if [ ! -x "$dir/venv/bin/openapi-spec-validator" ]; then
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install --quiet --disable-pip-version-check openapi-spec-validator==0.9.0
fi
cargo run --quiet --locked --example openapi > "$dir/admin-api.json"
"$dir/venv/bin/openapi-spec-validator" "$dir/admin-api.json"
