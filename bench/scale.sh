#!/usr/bin/env bash
# Scale: N signed Shopify webhooks into a fresh store, through the real `pinbridge serve`
# (release build), on sled and on PostgreSQL. At each checkpoint the load pauses and one
# markdown row is printed: acks/s and p99 over the last window, store bytes per item, server
# RSS (now, peak), `/readyz` and item-lookup latency (examples/scale_ingest/).
# Server pinned to core 0, the load client to core 1 (PostgreSQL itself is not pinned).
#
#   bench/scale.sh                                  # 1,000,000 items, sled then PostgreSQL
#   SCALE_BACKENDS="sled fjall" bench/scale.sh      # the embedded store on each engine
#   SCALE_ITEMS=100000 SCALE_BACKENDS=sled bench/scale.sh
# Knobs: SCALE_ITEMS (1000000), SCALE_CONNECTIONS (64), SCALE_CHECKPOINTS
# (10000,100000,1000000; those ≥ SCALE_ITEMS are dropped, SCALE_ITEMS is always the last),
# SCALE_WINDOW (10000 acks), SCALE_ROUNDS (9 probe requests), SCALE_BACKENDS ("sled postgres"; "fjall" is the embedded store on fjall),
# SCALE_PORT (18190), SCALE_OUT (store, config, logs; default /tmp/pinbridge-scale),
# SCALE_POSTGRES_URL (default $PINBRIDGE_TEST_POSTGRES_URL; one fresh schema per run, dropped
# after), SCALE_CACHE_MB (sled's cache_capacity_mb, default: the config default),
# SCALE_COMPRESSION (sled's compression for the fresh store, zstd|off; default: the config default),
# SCALE_PINBRIDGE (another server binary, e.g. a build of an older commit, to compare),
# SCALE_CLIENT (the load client binary, default the release build's examples/scale_ingest),
# SCALE_NO_BUILD=1 (use the binaries already in $CARGO_TARGET_DIR/release: every commit moves
# HEAD, which rebuilds pinbridge, see build.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

ITEMS=${SCALE_ITEMS:-1000000}
CONNS=${SCALE_CONNECTIONS:-64}
CHECKPOINTS=${SCALE_CHECKPOINTS:-10000,100000,1000000}
WINDOW=${SCALE_WINDOW:-10000}
ROUNDS=${SCALE_ROUNDS:-9}
BACKENDS=${SCALE_BACKENDS:-sled postgres}
PORT=${SCALE_PORT:-18190}
OUT=${SCALE_OUT:-/tmp/pinbridge-scale}
SECRET=bench-secret
# Only for this throwaway server on loopback; 32+ characters as `admin_token` requires.
TOKEN=scale-bench-admin-token-0123456789abcdef
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

if [ -z "${SCALE_NO_BUILD:-}" ]; then
    cargo build --release --locked --quiet --bin pinbridge --example scale_ingest
fi
BIN=$CARGO_TARGET_DIR/release
SERVER=${SCALE_PINBRIDGE:-$BIN/pinbridge}
CLIENT=${SCALE_CLIENT:-$BIN/examples/scale_ingest}
mkdir -p "$OUT"

# A "Pinterest" that accepts connections and never answers: the sync worker waits on it
# instead of failing fast and rewriting its job in a loop (as in bench/webhook_bench.sh).
STALL_PORT=$((PORT + 1))
python3 -c "import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $STALL_PORT)); s.listen(64); time.sleep(86400)" &
STALL_PID=$!

SERVER_PID=
SCHEMA=
PG_URL=${SCALE_POSTGRES_URL:-${PINBRIDGE_TEST_POSTGRES_URL:-}}
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    SERVER_PID=
    if [ -n "$SCHEMA" ]; then
        psql "$PG_URL" -qc "SET client_min_messages = warning; DROP SCHEMA $SCHEMA CASCADE" || true
        SCHEMA=
    fi
}
trap 'cleanup; kill $STALL_PID 2>/dev/null || true' EXIT

wait_port() {
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "server did not listen on $PORT (see $OUT/*.server.log)" >&2
    return 1
}

# $1: the [store] table's lines.
write_config() {
    cat > "$OUT/pinbridge.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
shutdown_grace = "1s"
admin_token = "$TOKEN"
[store]
$1
[pinterest]
api_base = "http://127.0.0.1:$STALL_PORT/v5/"
timeout = "3600s"
client_id = "1"
client_secret = "unused"
[[accounts]]
name = "main"
access_token = "unused"
refresh_token = "unused"
[[sources]]
id = "shop"
kind = "webhook"
preset = "shopify"
secret = "$SECRET"
storefront_url = "https://shop.example.com"
[[routes]]
source = "shop"
board = "Products"
[sync]
workers = 1
TOML
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); server $SERVER ($("$SERVER" --version 2>/dev/null | head -n1)); $(date -u +%FT%TZ)"
echo "items $ITEMS, $CONNS connections (client on core 1), server on core 0, release build; window $WINDOW acks; $ROUNDS probe requests"
for backend in $BACKENDS; do
    rm -rf "$OUT/store.sled"
    case $backend in
        sled)
            write_config "path = \"$OUT/store.sled\"${SCALE_CACHE_MB:+
cache_capacity_mb = $SCALE_CACHE_MB}${SCALE_COMPRESSION:+
compression = \"$SCALE_COMPRESSION\"}"
            size_args=(--store-dir "$OUT/store.sled")
            ;;
        fjall)
            write_config "path = \"$OUT/store.sled\"
engine = \"fjall\"${SCALE_CACHE_MB:+
cache_capacity_mb = $SCALE_CACHE_MB}"
            size_args=(--store-dir "$OUT/store.sled")
            ;;
        postgres)
            : "${PG_URL:?set SCALE_POSTGRES_URL or PINBRIDGE_TEST_POSTGRES_URL}"
            SCHEMA=scale_$$_$RANDOM
            psql "$PG_URL" -qc "CREATE SCHEMA $SCHEMA"
            sep='?'
            case $PG_URL in *\?*) sep='&' ;; esac
            write_config "url = \"$PG_URL${sep}options=-c%20search_path%3D$SCHEMA\""
            size_args=(--postgres "$PG_URL" --schema "$SCHEMA")
            ;;
        *) echo "unknown backend $backend (sled, fjall, postgres)" >&2; exit 2 ;;
    esac
    PINBRIDGE_LOG=warn taskset -c 0 "$SERVER" serve -c "$OUT/pinbridge.toml" \
        >/dev/null 2>"$OUT/$backend.server.log" &
    SERVER_PID=$!
    wait_port
    echo
    echo "$backend: load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    taskset -c 1 "$CLIENT" --url "http://127.0.0.1:$PORT" --pid "$SERVER_PID" \
        --token "$TOKEN" "${size_args[@]}" --items "$ITEMS" --connections "$CONNS" \
        --checkpoints "$CHECKPOINTS" --window "$WINDOW" --rounds "$ROUNDS" --secret "$SECRET" \
        --run-id "scale$$" --label "$backend"
    echo "$backend: load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    cleanup
done
