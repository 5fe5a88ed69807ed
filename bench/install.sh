#!/bin/sh
# Installs the webhook benchmark's load generator (wrk, Debian package). Idempotent.
set -eu
if command -v wrk >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq wrk
