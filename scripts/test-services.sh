#!/usr/bin/env bash
# Makes sure the PostgreSQL and Redis servers the tests use are running on
# loopback (starting them, or installing them from Debian's packages on a
# machine that lacks them), then prints the two variables the tests read:
#
#   eval "$(scripts/test-services.sh)"   # sets FLINT_TEST_DATABASE_URL / FLINT_TEST_REDIS_URL
set -euo pipefail

log() { echo "test-services: $*" >&2; }

install_packages() {
  log "installing $* from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "$@" >&2
}

# --- PostgreSQL --------------------------------------------------------------
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  install_packages postgresql
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  # The tests connect as postgres over TCP without a password (loopback only).
  if [ -f "$hba" ] && ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p 5432 -q && break
    sleep 1
  done
fi
pg_isready -h 127.0.0.1 -p 5432 -q || { log "PostgreSQL did not come up"; exit 1; }
if ! psql -h 127.0.0.1 -U postgres -d test -Atqc 'select 1' >/dev/null 2>&1; then
  log "creating database test"
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test' >&2
fi

# --- Redis -------------------------------------------------------------------
if ! command -v redis-server >/dev/null 2>&1; then
  install_packages redis-server
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >&2
  for _ in $(seq 1 30); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
    sleep 0.5
  done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { log "Redis did not come up"; exit 1; }

echo "export FLINT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
echo "export FLINT_TEST_REDIS_URL=redis://127.0.0.1:6379"
