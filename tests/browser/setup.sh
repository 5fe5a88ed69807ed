#!/usr/bin/env bash
# Installs Debian's Chromium for the status-page browser test (tests/it/ops_browser.rs).
# Idempotent: does nothing when a chromium binary is already on PATH. Needs root (or sudo) and
# a Debian mirror. Prints the binary's path; the test finds it on PATH or via PINBRIDGE_CHROMIUM.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
command -v chromium
