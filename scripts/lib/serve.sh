# Sourced by the scripts that check a running flint (check-site,
# validate-site-documents, fuzz-api): a free loopback port, and `flint
# serve` started in the background and waited for.

# A port nothing listens on now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# serve_flint BIN LOG: starts `BIN serve` (its pid in $server, its output in
# LOG) and waits up to 10 s for $base/healthz; when it does not answer,
# prints LOG and exits 1.
serve_flint() {
  "$1" serve >"$2" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$2" >&2
  exit 1
}
