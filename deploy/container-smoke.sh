#!/usr/bin/env bash
# Smoke test of the container image, for CI: build the runtime stage of deploy/Dockerfile around
# the release binary, run it with configuration from the environment alone, and check what a
# container platform relies on: /healthz and /readyz answer, the HEALTHCHECK follows a
# non-default port, `pinbridge check` works inside with no config file, the process runs as a
# non-root user, and SIGTERM (`podman stop`) drains and exits 0.
#
#   bash deploy/container-smoke.sh
#
# Needs root (podman, and apt-get when podman, runc or mmdebstrap are missing). Builds
# target/release/pinbridge with `cargo build --release --locked` when absent; PINBRIDGE_BINARY
# names another binary (it must run on Debian bookworm's glibc). Leaves nothing behind unless
# PINBRIDGE_CONTAINER_KEEP=1. About 85 s on a 2-core machine with the packages installed (most
# of it mmdebstrap); the runtime image is about 108 MB with Cargo.toml's release profile.
set -euo pipefail

WORK=$(mktemp -d /tmp/pinbridge-smoke.XXXXXX)
# shellcheck source=deploy/container-lib.sh
. "$(dirname "$0")/container-lib.sh"
started=$(date +%s)
NAME=pinbridge-smoke
IMAGE=localhost/pinbridge:smoke
trap cleanup_podman EXIT

fail() {
    log "FAIL: $*"
    podman logs "$NAME" 2>&1 | tail -n 40 >&2 || true
    exit 1
}

BINARY=${PINBRIDGE_BINARY:-$ROOT/target/release/pinbridge}
if [ ! -x "$BINARY" ]; then
    log "no $BINARY: cargo build --release --locked"
    (cd "$ROOT" && cargo build --release --locked)
fi

ensure_tools
setup_podman
build_debian_base "$(dockerfile_arg RUNTIME_IMAGE)"

# A context of its own holding only the binary, where the `prebuilt` stage expects it.
mkdir -p "$WORK/context/target/release"
cp "$BINARY" "$WORK/context/target/release/pinbridge"
log "building the runtime stage (--target prebuilt)"
podman build --quiet --pull=never --format docker -f "$DOCKERFILE" --target prebuilt \
    -t "$IMAGE" "$WORK/context" >/dev/null
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
log "image size: $((size / 1000000)) MB"
[ "$(podman image inspect --format '{{.Config.User}}' "$IMAGE")" = "10001:10001" ] \
    || fail "the image does not run as 10001:10001"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
admin_token=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
token_key=$(head -c 32 /dev/urandom | base64)
# Port 8181 inside, not the image's 8080: the HEALTHCHECK must follow the configuration.
podman run --detach --name "$NAME" --read-only -p "127.0.0.1:$port:8181" \
    -e PINBRIDGE_SERVER__LISTEN=0.0.0.0:8181 \
    -e PINBRIDGE_SERVER__ADMIN_TOKEN="$admin_token" \
    -e PINBRIDGE_SERVER__SHUTDOWN_GRACE=10s \
    -e PINBRIDGE_TOKEN_KEY="$token_key" \
    -e PINBRIDGE_PINTEREST__CLIENT_ID=smoke-client \
    -e PINBRIDGE_PINTEREST__CLIENT_SECRET=smoke-secret \
    -e PINBRIDGE_ACCOUNTS__0__NAME=main \
    -e PINBRIDGE_SOURCES__0__ID=shop \
    -e PINBRIDGE_SOURCES__0__KIND=webhook \
    -e PINBRIDGE_SOURCES__0__PRESET=shopify \
    -e PINBRIDGE_SOURCES__0__SECRET=smoke-webhook-secret \
    -e PINBRIDGE_SOURCES__0__STOREFRONT_URL=https://shop.example \
    -e PINBRIDGE_ROUTES__0__SOURCE=shop \
    -e PINBRIDGE_ROUTES__0__BOARD=Shop \
    "$IMAGE" >/dev/null 2>"$WORK/run.log" || { cat "$WORK/run.log" >&2; fail "podman run"; }

deadline=$(($(date +%s) + 30))
until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "/healthz did not answer within 30 s"
    [ "$(podman inspect --format '{{.State.Running}}' "$NAME")" = true ] || fail "the container exited"
    sleep 0.5
done
log "/healthz answered"
# The account has no tokens yet: it needs `pinbridge auth`, yet webhooks can be taken.
curl -fsS "http://127.0.0.1:$port/readyz" | grep -q '"ready":true' || fail "/readyz is not ready"
log "/readyz ready (the account still needs auth)"
# Without systemd podman cannot schedule the check (it logs so); run on demand, it works.
podman healthcheck run "$NAME" >/dev/null 2>&1 || fail "the HEALTHCHECK failed on port 8181"
log "HEALTHCHECK healthy"
[ "$(podman exec "$NAME" /usr/local/bin/pinbridge healthcheck 2>/dev/null | head -n 1)" != "" ] \
    || fail "pinbridge healthcheck printed nothing"
check=$(podman exec "$NAME" /usr/local/bin/pinbridge check 2>&1) || fail "pinbridge check: $check"
case "$check" in *environment*) ;; *) fail "pinbridge check did not use the environment: $check" ;; esac
log "pinbridge check inside: $check"
uid=$(podman top "$NAME" user 2>/dev/null | tail -n 1 | tr -d ' ')
[ "$uid" != root ] && [ "$uid" != 0 ] || fail "the process runs as root"

podman stop --time 30 "$NAME" >/dev/null 2>>"$WORK/run.log"
code=$(podman inspect --format '{{.State.ExitCode}}' "$NAME")
[ "$code" = 0 ] || fail "exit code $code after SIGTERM"
log "SIGTERM: drained and exited 0"
log "container smoke test passed in $(($(date +%s) - started)) s"
