#!/usr/bin/env bash
# Install Debian's PostgreSQL server for the tests that start a real one (neuroplastic/store/pg_server.py).
# Idempotent: returns at once when initdb and pg_ctl are present. Where it cannot install (not root,
# no apt-get, no network) it says so and exits 0: those tests are then skipped with that reason.
set -uo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" > /dev/null || command -v pg_ctl > /dev/null; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get > /dev/null; then
  echo "install_postgres: not root or no apt-get; PostgreSQL tests will be skipped" >&2
  exit 0
fi
echo "installing PostgreSQL server (Debian package postgresql)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql > /dev/null; }; then
  echo "install_postgres: apt-get failed; PostgreSQL tests will be skipped" >&2
fi
exit 0
