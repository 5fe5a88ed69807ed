#!/usr/bin/env bash
# Every engine and layout, one after another, one markdown table (docs/BENCHMARKS.md,
# "Embedded engines: same ingest path"). Arguments go to every run, e.g.
#   bench/engines/run.sh --items 100000
# ENGINES ("sled redb fjall"), LAYOUTS ("lean current") and ENCODINGS ("json"; or "json compact")
# choose the rows.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --locked --quiet
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); $(date -u +%FT%TZ); args: $*"
echo "| engine | layout, encoding | items | ingests/s (window) | p99 group commit ms | p99 ack ms | mean group | MiB on disk | bytes/item | RSS MiB | peak RSS MiB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for encoding in ${ENCODINGS:-json}; do
    for layout in ${LAYOUTS:-lean current}; do
        for engine in ${ENGINES:-sled redb fjall}; do
            echo "<!-- $engine $layout $encoding: load average at start $(cut -d' ' -f1-3 /proc/loadavg) -->"
            target/release/pinbridge-engine-bench --engine "$engine" --layout "$layout" \
                --encoding "$encoding" "$@"
        done
    done
done
echo "<!-- load average at end $(cut -d' ' -f1-3 /proc/loadavg) -->"
