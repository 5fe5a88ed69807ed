#!/usr/bin/env bash
# Fails when the library's modules import each other in a circle.
#
# cargo-modules (0.27.0: later versions need a newer rustc) prints the crate's module graph
# with its `uses` edges. Whether two modules form a circle depends on the level looked at, so
# every `uses` edge is read twice:
#   - between top-level modules (`config` -> `sync` and `sync` -> `config` is a circle), and
#   - between siblings under one parent (`sources::feed::x` -> `sources::shop` and back is a
#     circle between `sources::feed` and `sources::shop`).
# A child using its parent (`use super::…`) or its own descendants is not a circle: the parent
# owns the child, and the edge is dropped before the check.
#
# Usage: .ci/cycles.sh            (exit 1 and a list of circles, or "no import circles")
#        CARGO_MODULES=/path/to/cargo-modules .ci/cycles.sh
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.27.0
tool="${CARGO_MODULES:-}"
if [[ -z "$tool" ]]; then
    if command -v cargo-modules >/dev/null && cargo-modules --version | grep -q " $version"; then
        tool=cargo-modules
    else
        cargo install --locked "cargo-modules@$version"
        tool="$(command -v cargo-modules || echo "${CARGO_HOME:-$HOME/.cargo}/bin/cargo-modules")"
    fi
fi

graph="$(mktemp)"
trap 'rm -f "$graph"' EXIT
# Functions, types and traits stay in the graph so that a `use` of an item counts for the
# module the item is in; `--no-externs` and `--no-sysroot` leave out other crates.
"$tool" dependencies --lib --no-externs --no-sysroot --layout dot >"$graph"

python3 - "$graph" <<'PY'
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
kinds = {}
for path, label in re.findall(r'^\s*"([^"]+)" \[label="([^"|]*)\|', text, re.M):
    kinds[path] = label.split()[-1]  # "pub(crate) mod" -> "mod"
uses = re.findall(r'^\s*"([^"]+)" -> "([^"]+)" \[label="uses"', text, re.M)
if not kinds:
    sys.exit("cycles: cargo-modules printed no graph")
crate = min(kinds, key=len)


def module_of(path):
    """The module a node is: itself for a module, else the module it is declared in."""
    while path != crate and kinds.get(path) not in ("mod", "crate"):
        path = path.rsplit("::", 1)[0]
    return path


def parts(path):
    return [] if path == crate else path[len(crate) + 2 :].split("::")


# Edges between siblings: for a -> b, the children of their deepest common parent that hold
# each end. Nested modules only (`x` -> `x::y` or `x::y` -> `x`) give no sibling edge.
edges = {}
for a, b in uses:
    pa, pb = parts(module_of(a)), parts(module_of(b))
    common = 0
    while common < min(len(pa), len(pb)) and pa[common] == pb[common]:
        common += 1
    if common == len(pa) or common == len(pb):
        continue
    parent = "::".join(pa[:common]) or "(crate)"
    edges.setdefault(parent, {}).setdefault(pa[common], {}).setdefault(pb[common], set()).add(
        f"{'::'.join(pa)} -> {'::'.join(pb)}"
    )


def circles(graph):
    """Strongly connected groups of more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


found = 0
for parent in sorted(edges):
    graph = edges[parent]
    for group in circles(graph):
        found += 1
        print(f"circle under {parent}: {' <-> '.join(group)}")
        for a in group:
            for b in group:
                for via in sorted(graph.get(a, {}).get(b, ())):
                    print(f"    {a} -> {b}: {via}")
if found:
    sys.exit(f"{found} import circle(s)")
print("no import circles")
PY
