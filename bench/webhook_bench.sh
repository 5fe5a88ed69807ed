#!/usr/bin/env bash
# Webhook throughput: three baselines and pinbridge's real path, same pre-signed Shopify
# deliveries, same machine, one run. Server pinned to core 0, wrk (1 thread) to core 1.
#
#   bench/webhook_bench.sh            # all four, prints a table
#   BENCH_ONLY="sled-group pinbridge" bench/webhook_bench.sh
# Knobs: BENCH_DURATION (15s), BENCH_CONNECTIONS (64), BENCH_REQUESTS (400000 pre-signed),
# BENCH_PORT (18090), BENCH_OUT (raw wrk output, default /tmp/pinbridge-webhook-bench),
# BENCH_COMPRESSION (zstd|off: `[store] compression` of pinbridge's fresh sled store),
# BENCH_ENGINE (sled|fjall: `[store] engine` of the fresh embedded store of the `pinbridge` row;
# the row `pinbridge-fjall` always uses fjall, so "sled-group pinbridge pinbridge-fjall" compares),
# BENCH_NO_BUILD=1 (use the binaries already in $CARGO_TARGET_DIR/release).
# BENCH_PINBRIDGE_BEFORE=/path/to/older/pinbridge adds a row "pinbridge-before" for that binary
# (to measure a change: build the older commit, copy its binary, pass it here).
# BENCH_ONLY="pinbridge pinbridge-pg" compares the sled store with PostgreSQL: pinbridge-pg uses
# BENCH_POSTGRES_URL (default $PINBRIDGE_TEST_POSTGRES_URL), one fresh schema per run (psql).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-15s}
CONNS=${BENCH_CONNECTIONS:-64}
COUNT=${BENCH_REQUESTS:-400000}
PORT=${BENCH_PORT:-18090}
OUT=${BENCH_OUT:-/tmp/pinbridge-webhook-bench}
ONLY=${BENCH_ONLY:-noop hmac sled-group pinbridge${BENCH_PINBRIDGE_BEFORE:+ pinbridge-before}}
SECRET=bench-secret
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

bench/install.sh
if [ -z "${BENCH_NO_BUILD:-}" ]; then
    cargo build --release --quiet --bin pinbridge --example webhook_baselines
fi
BIN=$CARGO_TARGET_DIR/release
rm -rf "$OUT" && mkdir -p "$OUT"
python3 bench/make_requests.py --count "$COUNT" --secret "$SECRET" --out "$OUT/requests.tsv"

# A "Pinterest" that accepts connections and never answers: the sync worker waits on it instead of
# failing fast and rewriting its job in a loop, as it would wait on the real API's write quota.
STALL_PORT=$((PORT + 1))
python3 -c "import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $STALL_PORT)); s.listen(64); time.sleep(3600)" &
STALL_PID=$!

SERVER_PID=
cleanup() { if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi; }
trap 'cleanup; kill $STALL_PID 2>/dev/null || true' EXIT

wait_port() {
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "server did not listen on $PORT" >&2
    return 1
}

# $1: the [store] line (sled path by default).
pinbridge_config() {
    local store_line=${1:-path = \"$OUT/pinbridge.sled\"${BENCH_COMPRESSION:+
compression = \"$BENCH_COMPRESSION\"}${BENCH_ENGINE:+
engine = \"$BENCH_ENGINE\"}}
    cat > "$OUT/pinbridge.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
shutdown_grace = "1s"
[store]
$store_line
[pinterest]
# Never answers (see STALL_PORT): the benchmark measures acks, not Pinterest calls.
api_base = "http://127.0.0.1:$STALL_PORT/v5/"
timeout = "300s"
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

row() { printf '%-16s %12s %10s %10s %10s %12s %10s\n' "$@"; }

run_one() {
    local name=$1
    rm -rf "$OUT/pinbridge.sled" "$OUT/sled"
    case $name in
        pinbridge | pinbridge-before)
            local bin=$BIN/pinbridge
            if [ "$name" = pinbridge-before ]; then bin=$BENCH_PINBRIDGE_BEFORE; fi
            pinbridge_config
            PINBRIDGE_LOG=warn taskset -c 0 "$bin" serve -c "$OUT/pinbridge.toml" \
                >/dev/null 2>"$OUT/$name.server.log" &
            ;;
        pinbridge-fjall)
            pinbridge_config "path = \"$OUT/pinbridge.sled\"
engine = \"fjall\""
            PINBRIDGE_LOG=warn taskset -c 0 "$BIN/pinbridge" serve -c "$OUT/pinbridge.toml" \
                >/dev/null 2>"$OUT/$name.server.log" &
            ;;
        pinbridge-pg)
            # PostgreSQL itself is not pinned: it runs on whichever core is free.
            local pg=${BENCH_POSTGRES_URL:-${PINBRIDGE_TEST_POSTGRES_URL:?set BENCH_POSTGRES_URL}}
            PG_SCHEMA=bench_$$_$RANDOM
            local schema=$PG_SCHEMA
            psql "$pg" -qc "CREATE SCHEMA $schema"
            local sep='?'
            case $pg in *\?*) sep='&' ;; esac
            pinbridge_config "url = \"$pg${sep}options=-c%20search_path%3D$schema\""
            PINBRIDGE_LOG=warn taskset -c 0 "$BIN/pinbridge" serve -c "$OUT/pinbridge.toml" \
                >/dev/null 2>"$OUT/$name.server.log" &
            ;;
        *)
            taskset -c 0 "$BIN/examples/webhook_baselines" --mode "$name" \
                --listen "127.0.0.1:$PORT" --secret "$SECRET" --dir "$OUT/sled" \
                >/dev/null 2>"$OUT/$name.server.log" &
            ;;
    esac
    SERVER_PID=$!
    wait_port
    taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s bench/wrk_replay.lua \
        "http://127.0.0.1:$PORT" -- "$OUT/requests.tsv" >"$OUT/$name.wrk.txt" 2>&1
    cleanup
    SERVER_PID=
    if [ "$name" = pinbridge-pg ]; then
        psql "${BENCH_POSTGRES_URL:-$PINBRIDGE_TEST_POSTGRES_URL}" -qc "SET client_min_messages = warning; DROP SCHEMA $PG_SCHEMA CASCADE"
    fi
    local f=$OUT/$name.wrk.txt
    local rps p50 p99 total non2xx
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$f")
    p50=$(awk '$1 == "50%" {print $2}' "$f")
    p99=$(awk '$1 == "99%" {print $2}' "$f")
    total=$(awk '/requests in/ {print $1}' "$f")
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$f")
    non2xx=${non2xx:-0}
    # noop and hmac keep no state, so replaying the file again measures the same thing.
    if [ "$name" != noop ] && [ "$name" != hmac ] && [ "${total:-0}" -gt "$COUNT" ]; then
        echo "note: $name sent $total requests, more than the $COUNT prepared: raise BENCH_REQUESTS" >&2
    fi
    # Store bytes per acknowledged request (sled preallocates segments: coarse on short runs).
    local per=-
    if [ -d "$OUT/pinbridge.sled" ] && [ "${total:-0}" -gt 0 ]; then
        per=$(( $(du -sb "$OUT/pinbridge.sled" | cut -f1) / total ))
    fi
    row "$name" "$rps" "$p50" "$p99" "$non2xx" "$total" "$per"
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); $(date -u +%FT%TZ)"
echo "wrk -t1 -c$CONNS -d$DURATION --latency (core 1), server on core 0, release build"
echo "uptime: $(uptime)"
row handler "req/s" p50 p99 non-2xx requests "store B/req"
for name in $ONLY; do
    run_one "$name"
done
echo "uptime: $(uptime)"
echo "raw output: $OUT"
