#!/usr/bin/env bash
# Downloads feedparser's source distribution from PyPI and unpacks its test corpus (2,242
# feeds, well-formed and ill-formed) for tests/it/feed_corpus.rs.
# Target: $PINBRIDGE_FEEDPARSER_CORPUS, else ${CARGO_TARGET_DIR:-<repo>/target}/feedparser
# (where the test looks). Idempotent: an unpacked corpus is kept.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${PINBRIDGE_FEEDPARSER_CORPUS:-${CARGO_TARGET_DIR:-$repo/target}/feedparser}"
version=6.0.12
if [ -d "$dir/feedparser-$version/tests" ]; then
  echo "feedparser $version corpus already in $dir"
  exit 0
fi
mkdir -p "$dir"
python3 -m pip download --quiet --disable-pip-version-check --no-deps \
  --no-binary :all: "feedparser==$version" -d "$dir"
tar -xzf "$dir/feedparser-$version.tar.gz" -C "$dir"
echo "feedparser $version corpus unpacked in $dir/feedparser-$version/tests"
