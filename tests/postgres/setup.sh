#!/usr/bin/env bash
# Starts Debian's PostgreSQL 15 cluster (installed, not running) and creates the test database
# the PostgreSQL store tests use. Idempotent. Prints the URL to export:
#   export PINBRIDGE_TEST_POSTGRES_URL=$(bash tests/postgres/setup.sh)
set -euo pipefail
if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
  pg_createcluster 15 main >/dev/null
fi
pg_ctlcluster 15 main start >/dev/null 2>&1 || true
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.2
done
su postgres -c "psql -q -tc \"SELECT 1 FROM pg_roles WHERE rolname='pinbridge'\"" 2>/dev/null | grep -q 1 ||
  su postgres -c "psql -q -c \"CREATE ROLE pinbridge LOGIN PASSWORD 'pinbridge' CREATEDB\"" >/dev/null
su postgres -c "psql -q -tc \"SELECT 1 FROM pg_database WHERE datname='pinbridge_test'\"" | grep -q 1 ||
  su postgres -c "psql -q -c \"CREATE DATABASE pinbridge_test OWNER pinbridge\"" >/dev/null
echo "postgres://pinbridge:pinbridge@127.0.0.1:5432/pinbridge_test"
