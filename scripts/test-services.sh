#!/usr/bin/env bash
# Makes sure the PostgreSQL and Redis servers the tests use are running on
# loopback (starting them, or installing them from Debian's packages on a
# machine that lacks them), then prints the two variables the tests read:
#
#   eval "$(scripts/test-services.sh)"   # sets FLINT_TEST_DATABASE_URL / FLINT_TEST_REDIS_URL /
#                                        # FLINT_TEST_S3_URL (+ its access and secret key) /
#                                        # FLINT_TEST_MAILDEV (an SMTP server with an HTTP API) /
#                                        # FLINT_TEST_OIDC_ISSUER (+ _FORGED_ISSUER: an OpenID Connect provider)
#
# The S3 server is s3s-fs, which checks SigV4 signatures as AWS does (so a
# signing mistake fails the tests); it is installed with cargo when missing
# (about 3 minutes, once) and keeps its buckets under /tmp/flint-s3s.
#
# maildev (npm, installed once under ~/.cache/flint-node) is not started
# here: each mail test starts its own on free ports (about a second), so
# tests have their own mailbox, and one can stop and restart its server.
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

# --- S3 (s3s-fs) ---------------------------------------------------------------
s3_port=19000
s3_root=/tmp/flint-s3s
s3_key=flint-test-key
s3_secret=flint-test-secret
s3s=$(command -v s3s-fs || echo "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs")
if [ ! -x "$s3s" ]; then
  log "installing s3s-fs 0.14.1 with cargo"
  cargo install s3s-fs@0.14.1 --features binary --locked >&2
fi
mkdir -p "$s3_root/flint-test"
if ! curl -s -o /dev/null "http://127.0.0.1:$s3_port/" 2>/dev/null; then
  log "starting s3s-fs"
  nohup "$s3s" --host 127.0.0.1 --port "$s3_port" --access-key "$s3_key" --secret-key "$s3_secret" "$s3_root" >/tmp/flint-s3s.log 2>&1 &
  for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$s3_port/" 2>/dev/null && break
    sleep 0.1
  done
fi
curl -s -o /dev/null "http://127.0.0.1:$s3_port/" || { log "s3s-fs did not come up"; exit 1; }

# --- SMTP (maildev) ---------------------------------------------------------------
node_prefix="${FLINT_NODE_PREFIX:-$HOME/.cache/flint-node}"
maildev="$node_prefix/node_modules/.bin/maildev"
if [ ! -x "$maildev" ]; then
  command -v npm >/dev/null 2>&1 || install_packages nodejs npm
  log "installing maildev 3.0.0 with npm"
  mkdir -p "$node_prefix"
  npm install --no-audit --no-fund --prefix "$node_prefix" maildev@3.0.0 >&2
fi
[ -x "$maildev" ] || { log "maildev is missing"; exit 1; }

# --- OpenID Connect (oidc-provider) ----------------------------------------------
# One Node process for every test: each registers its own client (RFC 7591).
# Node resolves an ES module's imports from the module's own folder, so the
# script runs as a copy beside node_modules.
oidc_honest_port=19100
oidc_forged_port=19101
if [ ! -d "$node_prefix/node_modules/oidc-provider" ]; then
  log "installing oidc-provider 9.13.3 with npm"
  npm install --no-audit --no-fund --prefix "$node_prefix" oidc-provider@9.13.3 >&2
fi
oidc_up() { curl -s -o /dev/null "http://127.0.0.1:$1/.well-known/openid-configuration" 2>/dev/null; }
if ! oidc_up "$oidc_honest_port" || ! oidc_up "$oidc_forged_port"; then
  log "starting the OpenID Connect provider"
  cp "$(dirname "$0")/oidc-provider.mjs" "$node_prefix/flint-oidc-provider.mjs"
  nohup node "$node_prefix/flint-oidc-provider.mjs" "$oidc_honest_port" "$oidc_forged_port" >/tmp/flint-oidc.log 2>&1 &
  oidc_pid=$!
  # Up to a minute: a cold start on a busy machine makes two RSA keys and
  # loads a few hundred modules.
  for _ in $(seq 1 600); do
    oidc_up "$oidc_honest_port" && oidc_up "$oidc_forged_port" && break
    kill -0 "$oidc_pid" 2>/dev/null || break
    sleep 0.1
  done
fi
if ! oidc_up "$oidc_honest_port" || ! oidc_up "$oidc_forged_port"; then
  log "the OpenID Connect provider did not come up; /tmp/flint-oidc.log says:"
  tail -n 40 /tmp/flint-oidc.log >&2 || true
  exit 1
fi

echo "export FLINT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
echo "export FLINT_TEST_REDIS_URL=redis://127.0.0.1:6379"
echo "export FLINT_TEST_S3_URL='s3://flint-test?endpoint=http://127.0.0.1:$s3_port&region=us-east-1&path_style=true'"
echo "export FLINT_TEST_S3_ACCESS_KEY=$s3_key FLINT_TEST_S3_SECRET_KEY=$s3_secret"
echo "export FLINT_TEST_MAILDEV=$maildev"
echo "export FLINT_TEST_OIDC_ISSUER=http://127.0.0.1:$oidc_honest_port FLINT_TEST_OIDC_FORGED_ISSUER=http://127.0.0.1:$oidc_forged_port"
