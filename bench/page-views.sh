#!/usr/bin/env bash
# flint's page view benchmark (issue 20), each number against bench/baseline
# in the same run:
#
#   bench/page-views.sh [--duration SECONDS] [--rounds N]
#
# 1. recordPageView at 16 connections (1,000 different browsers), flint
#    against the baseline answering the same bytes: the median ratio of
#    --rounds rounds.
# 2. A cached post read (GET /api/post/<slug>) at 16 connections, flint
#    against the baseline: the ratio alone, then again while a second wrk
#    sends recordPageView at 16 connections as fast as it can, to flint
#    while flint's reads are measured and to the baseline while the
#    baseline's are. Page views must not slow reading: the second ratio is
#    to stay at or above 0.8x the first.
# Also reported: the views written, and in how many batches (inserts).
# Writes bench/results/page-views.md. Needs wrk (installed from Debian when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=3
rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "usage: bench/page-views.sh [--duration SECONDS] [--rounds N]" >&2; exit 2 ;;
  esac
done
command="bench/page-views.sh --duration $duration --rounds $rounds"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flint-target}"
if ! command -v wrk >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
echo "building (release)..." >&2
cargo build --release --quiet
cargo build --release --quiet --manifest-path bench/baseline/Cargo.toml
flint="$CARGO_TARGET_DIR/release/flint"
baseline="$CARGO_TARGET_DIR/release/flint-bench-baseline"

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
bport=$(free_port)
base="http://127.0.0.1:$port"
bbase="http://127.0.0.1:$bport"
export FLINT_LISTEN="127.0.0.1:$port" FLINT_BASE_URL="$base" FLINT_LOG=warn
export DATABASE_URL="sqlite://$work/bench.db" STORAGE_URL="file://$work/media"
password="page view bench password"
echo "$password" | "$flint" user create --email bench@example.com --name Bench --admin >/dev/null
"$flint" serve >"$work/flint.log" 2>&1 &
flint_pid=$!
pids+=("$flint_pid")
until curl -fsS "$base/healthz" >/dev/null 2>&1; do
  kill -0 "$flint_pid" 2>/dev/null || { cat "$work/flint.log" >&2; exit 1; }
  sleep 0.01
done
cookie=$(curl -fsS -D - -o /dev/null -H 'content-type: application/json' \
  -d "{\"email\": \"bench@example.com\", \"password\": \"$password\"}" "$base/api/auth/sign-in/email" \
  | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\);.*/\1/p' | head -n 1)
api() { curl -fsS -H "Cookie: $cookie" -H 'content-type: application/json' -d "$2" "$base/_fn/$1"; }
post_id=$(api createEmptyPost '{}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
body=$(python3 -c 'print(" ".join(["A paragraph of a post that readers come back to, with enough words to be a page."] * 40))')
api updatePost "{\"id\": $post_id, \"data\": {\"title\": \"Read Often\", \"slug\": \"read-often\", \"content\": \"$body\"}}" >/dev/null
api startPostProcessWorkflow "{\"id\": $post_id, \"status\": \"published\"}" >/dev/null
read_path="/api/post/read-often"
until curl -fsS -o "$work/post.json" "$base$read_path" 2>/dev/null; do sleep 0.05; done
echo '{"success":true}' | tr -d '\n' >"$work/success.json"
printf '%s\t%s\t%s\n' "$read_path" "$work/post.json" "application/json" "/_fn/recordPageView" "$work/success.json" "application/json" \
  >"$work/routes.tsv"
"$baseline" "127.0.0.1:$bport" "$work/routes.tsv" &
pids+=("$!")
until curl -fsS -o /dev/null "$bbase$read_path" 2>/dev/null; do sleep 0.01; done
export POST_ID=$post_id

rps() {  # wrk output -> "req/s p99_ms"
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "99%" { p99 = ms($2) }
    END { printf "%.0f %.3f\n", rps, p99 }'
}
views() {  # base seconds [connections] -> "req/s p99_ms"
  wrk -t2 -c"${3:-16}" -d"$2s" --latency -s bench/page-views.lua "$1/_fn/recordPageView" 2>/dev/null | rps
}
reads() {  # base seconds -> "req/s p99_ms"
  wrk -t2 -c16 -d"$2s" --latency "$1$read_path" 2>/dev/null | rps
}
reads_under_views() {  # base seconds -> "req/s p99_ms" of reads while views are sent to the same server
  wrk -t1 -c16 -d"$(( $2 + 2 ))s" -s bench/page-views.lua "$1/_fn/recordPageView" >/dev/null 2>&1 &
  local loader=$!
  sleep 1
  reads "$1" "$2"
  wait "$loader"
}
median_ratio() {  # lines "f f_p99 b b_p99" -> "f f_p99 b b_p99 ratio" of the median round
  python3 -c '
import sys
rounds = [l.split() for l in sys.stdin if l.strip()]
rounds.sort(key=lambda r: float(r[0]) / max(float(r[2]), 1))
f, fp, b, bp = rounds[len(rounds) // 2]
print(f, fp, b, bp, f"{float(f) / max(float(b), 1):.2f}")'
}
compare() {  # measure-function -> median "f f_p99 b b_p99 ratio"
  "$1" "$base" 1 >/dev/null
  "$1" "$bbase" 1 >/dev/null
  for _ in $(seq "$rounds"); do
    read -r f f99 < <("$1" "$base" "$duration")
    read -r b b99 < <("$1" "$bbase" "$duration")
    echo "$f $f99 $b $b99"
  done | median_ratio
}

echo "recordPageView at c16..." >&2
read -r v_f v_f99 v_b v_b99 v_ratio < <(compare views)
echo "recordPageView: flint $v_f req/s, baseline $v_b req/s, ratio $v_ratio" >&2
echo "cached post read at c16..." >&2
read -r r_f r_f99 r_b r_b99 r_ratio < <(compare reads)
echo "read: flint $r_f req/s, baseline $r_b req/s, ratio $r_ratio" >&2
echo "cached post read at c16 while views are recorded..." >&2
read -r u_f u_f99 u_b u_b99 u_ratio < <(compare reads_under_views)
echo "read under views: flint $u_f req/s, baseline $u_b req/s, ratio $u_ratio" >&2
kept=$(python3 -c "print(f'{$u_ratio / $r_ratio:.2f}')")

sleep 2  # the last batch leaves within a second
sqlite() { python3 -c "import sqlite3,sys; print(sqlite3.connect('$work/bench.db').execute(sys.argv[1]).fetchone()[0])" "$1"; }
written=$(sqlite "SELECT COUNT(*) FROM page_views")
batches=$(sqlite "SELECT COUNT(*) FROM workflow_runs WHERE name = 'page-views'")

mkdir -p bench/results
{
  echo "## Page views"
  echo
  echo "Command: \`$command\`  "
  echo "Commit: $(git rev-parse --short HEAD)  "
  echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  "
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -srm); flint (embedded: SQLite), the baseline and wrk share it."
  echo
  echo "Median of $rounds rounds of $duration s, 16 connections; the baseline answers the same bytes from memory."
  echo
  echo "| measured | flint req/s | p99 ms | baseline req/s | p99 ms | flint/baseline |"
  echo "|---|---|---|---|---|---|"
  echo "| recordPageView (1,000 browsers) | $v_f | $v_f99 | $v_b | $v_b99 | **$v_ratio** |"
  echo "| cached post read | $r_f | $r_f99 | $r_b | $r_b99 | $r_ratio |"
  echo "| cached post read while recordPageView runs at c16 on the same server | $u_f | $u_f99 | $u_b | $u_b99 | $u_ratio |"
  echo
  echo "Reads while views are recorded keep **${kept}×** of their ratio without them (the bar: 0.8×)."
  echo
  echo "The run's recordPageView requests (about $(python3 -c "print(round($v_f * $duration * $rounds))") in the measured rounds of the first row alone, from"
  echo "1,000 browsers) became **$written** rows (one per visitor and post in 30 minutes) in **$batches** batches, each one INSERT."
} >bench/results/page-views.md
cat bench/results/page-views.md
