#!/usr/bin/env bash
# Dependency policy (deny.toml): licences, banned and duplicate crates, sources, advisories.
# Installs cargo-deny from crates.io when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DENY_VERSION=0.20.2
if ! cargo deny --version 2>/dev/null | grep -q "$DENY_VERSION"; then
    cargo install --locked "cargo-deny@$DENY_VERSION"
fi

cargo deny --locked check bans licenses sources

# The advisory database is a git repository on GitHub. Where GitHub cannot be reached (CI here
# reaches only the package registries) the check says so plainly instead of failing on the
# network; a copy already on the machine (~/.cargo/advisory-dbs) is used offline.
ADVISORY_DB=https://github.com/RustSec/advisory-db
if timeout 20 git ls-remote "$ADVISORY_DB" HEAD >/dev/null 2>&1; then
    cargo deny --locked check advisories
elif compgen -G "${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/advisory-db-*/crates" >/dev/null; then
    echo "advisories: $ADVISORY_DB unreachable; checking against the copy on this machine"
    cargo deny --locked --offline check advisories
else
    echo "advisories: SKIPPED, $ADVISORY_DB is unreachable from this machine and no copy is present"
fi
