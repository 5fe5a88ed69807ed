#!/usr/bin/env bash
# Shared by deploy/container-smoke.sh and deploy/container-build-full.sh (sourced, not run):
# podman on a host without a registry, systemd or a Docker engine. Everything podman keeps goes
# under $WORK, so a run leaves nothing behind; no global podman configuration is edited.
#
# Host settings, each for a reason met on such machines:
# - runc, not crun: crun refuses a hybrid cgroup layout ("cgroups in hybrid mode not supported").
# - default ulimits no higher than the hard limits root has here: podman's own defaults
#   (1048576) need CAP_SYS_RESOURCE, which root in a container host may lack.
# - cgroupfs and file events: there is no systemd to ask.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKERFILE="$ROOT/deploy/Dockerfile"

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# Install podman, runc and mmdebstrap from Debian when one is missing.
ensure_tools() {
    local missing=()
    for tool in podman runc mmdebstrap; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends podman runc mmdebstrap uidmap >/dev/null \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends podman runc mmdebstrap uidmap >/dev/null; }
}

# $WORK/containers.conf with the three host settings, and a podman() that uses it and keeps
# its storage under $WORK.
setup_podman() {
    local nofile
    nofile=$(ulimit -Hn)
    if [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ]; then nofile=65536; fi
    mkdir -p "$WORK/storage" "$WORK/runroot"
    cat >"$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    export CONTAINERS_CONF="$WORK/containers.conf"
}

podman() {
    command podman --root "$WORK/storage" --runroot "$WORK/runroot" "$@"
}

# The default value of `ARG NAME=…` in the Dockerfile (the image references it names).
dockerfile_arg() {
    sed -n "s/^ARG $1=//p" "$DOCKERFILE" | head -n 1
}

# A Debian bookworm base image from Debian's packages (mmdebstrap), tagged as `$1` so the
# Dockerfile's FROM resolves locally without a registry. The merged-usr hook keeps usrmerge and
# perl out; man pages, locales and docs are left out as in the official slim image.
build_debian_base() {
    local tag=$1 mirror security
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    security=$(awk '/^URIs:/{u=$2} /^Suites:/ && /security/{print u; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    security=${security:-http://deb.debian.org/debian-security}
    log "building the Debian base with mmdebstrap (tagged $tag)"
    rm -rf "$WORK/rootfs"
    mmdebstrap --quiet --variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        bookworm "$WORK/rootfs" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
        "deb $security bookworm-security main" >"$WORK/mmdebstrap.log" 2>&1 \
        || { cat "$WORK/mmdebstrap.log" >&2; return 1; }
    # As the official slim image: apt keeps no package caches (else ~80 MB more per install).
    cat >"$WORK/rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
    rm -rf "$WORK/rootfs/var/lib/apt/lists/"* "$WORK/rootfs/var/cache/apt/"*.bin
    tar --numeric-owner --xattrs -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
    rm -rf "$WORK/rootfs"
    podman import --quiet --change 'CMD ["bash"]' "$WORK/rootfs.tar" localhost/debian-base:bookworm >/dev/null
    rm -f "$WORK/rootfs.tar"
    podman tag localhost/debian-base:bookworm "$tag"
}

# Remove every container and image under $WORK, then $WORK itself.
cleanup_podman() {
    if [ "${PINBRIDGE_CONTAINER_KEEP:-}" = 1 ]; then
        log "keeping $WORK (PINBRIDGE_CONTAINER_KEEP=1)"
        return
    fi
    podman rm --all --force --time 0 >/dev/null 2>&1 || true
    podman volume prune --force >/dev/null 2>&1 || true
    podman rmi --all --force >/dev/null 2>&1 || true
    # Overlay mounts still held under $WORK would make rm fail; nothing else is touched.
    grep -o " $WORK/[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$WORK"
}
