#!/usr/bin/env bash
# The whole two-stage build of deploy/Dockerfile on a machine without a container registry:
# a Debian base from mmdebstrap, a Rust toolchain image from Debian's rustc-web/cargo-web
# (bookworm-security) tagged as the `rust:` reference the Dockerfile names, then the image.
# Opt-in and slow (it compiles pinbridge in release mode, about as long as `cargo build
# --release` on the host); CI runs deploy/container-smoke.sh instead, which wraps the binary
# CI has already built.
#
#   bash deploy/container-build-full.sh
#
# Needs root and network access to Debian's mirror and crates.io (the host's CA bundle is
# mounted into the build for cargo's HTTPS). Prints the build time and image size; leaves
# nothing behind unless PINBRIDGE_CONTAINER_KEEP=1. On a 2-core machine shared with other
# builds: 18 minutes in all (the dependency layer 8.5, pinbridge itself 7); image 107 MB. That
# was before Cargo.toml's [profile.release] (thin LTO, one codegen unit): it adds ~11 % build
# CPU and compiles pinbridge itself on one core (docs/BENCHMARKS.md, "Release build").
set -euo pipefail

WORK=$(mktemp -d /tmp/pinbridge-build.XXXXXX)
# shellcheck source=deploy/container-lib.sh
. "$(dirname "$0")/container-lib.sh"
started=$(date +%s)
trap cleanup_podman EXIT
IMAGE=localhost/pinbridge:full

ensure_tools
setup_podman
runtime_image=$(dockerfile_arg RUNTIME_IMAGE)
rust_image=$(dockerfile_arg RUST_IMAGE)
build_debian_base "$runtime_image"

log "building the toolchain image from Debian's rustc-web/cargo-web (tagged $rust_image)"
cat >"$WORK/Containerfile.toolchain" <<TOOLCHAIN
FROM $runtime_image
RUN apt-get update \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rustc-web cargo-web \\
    && rm -rf /var/lib/apt/lists/*
TOOLCHAIN
podman build --quiet --pull=never --format docker -f "$WORK/Containerfile.toolchain" \
    -t "$rust_image" "$WORK" >/dev/null
have=$(podman run --rm --pull=never "$rust_image" rustc --version)
log "toolchain: $have"

log "building the image (both stages)"
build_started=$(date +%s)
podman build --pull=never --format docker -f "$DOCKERFILE" -t "$IMAGE" \
    --volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
    "$ROOT"
build_seconds=$(($(date +%s) - build_started))
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
version=$(podman run --rm --pull=never "$IMAGE" --version)
log "built $version in ${build_seconds} s; image size $((size / 1000000)) MB"
log "whole run: $(($(date +%s) - started)) s"
