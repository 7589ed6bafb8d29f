#!/usr/bin/env bash
# Checks a live webhook delivery of a running flint with the Python
# `standardwebhooks` package (PyPI), as a receiver in another language would:
# a receiver on loopback verifies `Webhook(secret).verify(raw_body, headers)`
# for a `testWebhook` delivery. Fails when the delivery does not arrive or
# does not verify.
#
#   scripts/verify-webhooks.sh [path/to/flint]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-${CARGO_TARGET_DIR:-target}/debug/flint}"
[ -x "$bin" ] || { echo "verify-webhooks: no flint binary at $bin (run cargo build first)" >&2; exit 1; }
python3 -c 'import standardwebhooks' 2>/dev/null \
  || python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'standardwebhooks>=1.1,<2' >&2

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
hook_port=$(free_port)
base="http://127.0.0.1:$port"
secret="whsec_$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(24)).decode())')"

# The receiver: verifies every delivery, writes the verdict, answers 204.
python3 - "$hook_port" "$secret" "$work/verdict" <<'PY' &
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from standardwebhooks import Webhook

port, secret, verdict = int(sys.argv[1]), sys.argv[2], sys.argv[3]

class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        try:
            payload = Webhook(secret).verify(body, dict(self.headers))
            result = f"verified {payload['type']} {payload['id']}"
        except Exception as error:  # the verdict says why
            result = f"REFUSED {type(error).__name__}: {error}"
        with open(verdict, "w") as out:
            out.write(result + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
PY
pids+=("$!")

export DATABASE_URL="sqlite://$work/flint.db" STORAGE_URL="file://$work/media" FLINT_LISTEN="127.0.0.1:$port" \
  FLINT_BASE_URL="$base" FLINT_LOG=error FLINT_WEBHOOK_ALLOW_PRIVATE=true
password="webhook check password"
echo "$password" | "$bin" user create --email admin@example.com --name Admin --admin >/dev/null
"$bin" serve >"$work/serve.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
cookie=$(curl -fsS -D - -o /dev/null -H 'content-type: application/json' \
  -d "{\"email\": \"admin@example.com\", \"password\": \"$password\"}" "$base/api/auth/sign-in/email" \
  | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\);.*/\1/p' | head -n 1)
endpoint="{\"id\": \"check\", \"name\": \"Check\", \"url\": \"http://127.0.0.1:$hook_port/hook\", \"enabled\": true, \"secret\": \"$secret\", \"events\": [\"post.published\"]}"
result=$(curl -fsS -H "Cookie: $cookie" -H 'content-type: application/json' -d "{\"endpoint\": $endpoint}" "$base/_fn/testWebhook")
echo "testWebhook: $result"
for _ in $(seq 1 50); do [ -s "$work/verdict" ] && break; sleep 0.1; done
verdict=$(cat "$work/verdict" 2>/dev/null || echo "no delivery arrived")
echo "standardwebhooks (Python): $verdict"
case "$verdict" in verified*) exit 0 ;; *) exit 1 ;; esac
