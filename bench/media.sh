#!/usr/bin/env bash
# flint's image benchmark (issue 18), each number against a baseline in the same run:
#
#   bench/media.sh [--duration SECONDS] [--rounds N] [--samples N]
#
# 1. A cached variant (a 1280-pixel WebP served from memory) against
#    bench/baseline sending the same bytes: wrk at 1 and 16 connections,
#    --rounds rounds, the median flint/baseline ratio.
# 2. The first resize of a 12-megapixel JPEG to a 1280-pixel WebP at
#    quality 80: flint (a GET of a variant nobody asked for yet, over HTTP:
#    read the original, decode, resize, encode, store) against
#    `vipsthumbnail` from Debian's libvips-tools on the same file, at the same
#    size and quality (a process per image, as it is used). --samples
#    different images each; the medians and their ratio.
# 3. flint's peak RSS (VmHWM, reset just before) while 8 first resizes of 8
#    different 12-megapixel JPEGs are requested at once.
#
# The images are made with vips (smooth colour fields plus fine grain, about
# 3 MB each as JPEG q85), so both sides decode the same photo-like files.
# Writes bench/results/media.md. Needs wrk and libvips-tools (installed from
# Debian when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=3
rounds=3
samples=5
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --samples) samples=$2; shift 2 ;;
    *) echo "usage: bench/media.sh [--duration SECONDS] [--rounds N] [--samples N]" >&2; exit 2 ;;
  esac
done
command="bench/media.sh --duration $duration --rounds $rounds --samples $samples"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flint-target}"
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v vipsthumbnail >/dev/null || missing+=(libvips-tools)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
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

# ---- images: 4000 x 3000, different for each index ------------------------------
count=$((samples + 8))
echo "making $count 12-megapixel JPEGs with vips..." >&2
for i in $(seq "$count"); do
  for band in r g b; do
    vips gaussnoise "$work/$band.v" 500 375 --mean 128 --sigma 45 --seed $((i * 3 + ${#band}))
  done
  vips bandjoin "$work/r.v $work/g.v $work/b.v" "$work/rgb.v"
  vips resize "$work/rgb.v" "$work/field.v" 8 --kernel linear
  vips gaussnoise "$work/grain.v" 4000 3000 --mean 0 --sigma 6 --seed $((i + 1000))
  vips add "$work/field.v" "$work/grain.v" "$work/sum.v"
  vips cast "$work/sum.v" "$work/photo.v" uchar
  vips jpegsave "$work/photo.v" "$work/photo-$i.jpg" --Q 85
done
rm -f "$work"/*.v
echo "image size: $(stat -c %s "$work/photo-1.jpg") bytes" >&2

# ---- flint --------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
bport=$(free_port)
base="http://127.0.0.1:$port"
export FLINT_LISTEN="127.0.0.1:$port" FLINT_BASE_URL="$base" FLINT_LOG=warn
export DATABASE_URL="sqlite://$work/bench.db" STORAGE_URL="file://$work/media"
password="media bench password"
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
keys=()
for i in $(seq "$count"); do
  keys+=("$(curl -fsS -H "Cookie: $cookie" -F "image=@$work/photo-$i.jpg;type=image/jpeg" "$base/_fn/uploadImage" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')")
done
accept='image/avif,image/webp,*/*;q=0.8'
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# ---- 2. first resizes -----------------------------------------------------------------
echo "first resizes: flint over HTTP, then vipsthumbnail, $samples images each..." >&2
flint_ms=$(for i in $(seq "$samples"); do
  curl -fsS -o "$work/variant-$i.webp" -H "Accept: $accept" -w '%{time_total}\n' "$base/images/${keys[$((i - 1))]}?width=1280" \
    | awk '{ printf "%.1f\n", $1 * 1000 }'
done | median)
vips_run() {  # options -> median ms over the sample images
  for i in $(seq "$samples"); do
    local start end
    start=$(date +%s%N)
    vipsthumbnail "$work/photo-$i.jpg" --size 1280 -o "$work/vips-$i.webp[Q=80,strip$1]"
    end=$(date +%s%N)
    echo "$(( (end - start) / 100000 ))" | awk '{ printf "%.1f\n", $1 / 10 }'
  done | median
}
vips_ms=$(vips_run ",effort=3")
vips_default_ms=$(vips_run "")
flint_size="$(vipsheader -f width "$work/variant-1.webp")x$(vipsheader -f height "$work/variant-1.webp"), $(stat -c %s "$work/variant-1.webp") bytes"
vips_size="$(vipsheader -f width "$work/vips-1.webp")x$(vipsheader -f height "$work/vips-1.webp"), $(stat -c %s "$work/vips-1.webp") bytes"
resize_ratio=$(python3 -c "print(f'{$flint_ms / $vips_ms:.2f}')")
resize_default_ratio=$(python3 -c "print(f'{$flint_ms / $vips_default_ms:.2f}')")
echo "first resize: flint $flint_ms ms ($flint_size), vips effort 3 $vips_ms ms ($vips_size), ratio $resize_ratio; vips default effort $vips_default_ms ms ($resize_default_ratio)" >&2

# ---- 3. peak RSS during 8 concurrent first resizes --------------------------------------
echo 5 >"/proc/$flint_pid/clear_refs"
rss_before_kb=$(awk '/VmRSS/ {print $2}' "/proc/$flint_pid/status")
started=$(date +%s%N)
readers=()
for i in $(seq "$((samples + 1))" "$count"); do
  curl -fsS -o /dev/null -H "Accept: $accept" "$base/images/${keys[$((i - 1))]}?width=1280" &
  readers+=("$!")
done
for reader in "${readers[@]}"; do wait "$reader"; done
concurrent_ms=$(( ($(date +%s%N) - started) / 1000000 ))
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$flint_pid/status")
echo "8 concurrent first resizes: ${concurrent_ms} ms, peak RSS $((peak_kb / 1024)) MiB (RSS before $((rss_before_kb / 1024)) MiB)" >&2

# ---- 1. cached variant vs the baseline ----------------------------------------------------
path="/images/${keys[0]}?width=1280"
curl -fsS -H "Accept: $accept" -o "$work/cached.webp" "$base$path"
printf '%s\t%s\t%s\n' "$path" "$work/cached.webp" "image/webp" >"$work/routes.tsv"
"$baseline" "127.0.0.1:$bport" "$work/routes.tsv" &
pids+=("$!")
until curl -fsS -o /dev/null "http://127.0.0.1:$bport$path" 2>/dev/null; do sleep 0.01; done
measure() {  # base connections seconds -> "req/s p99_ms"
  wrk -t"$(( $2 < 2 ? $2 : 2 ))" -c"$2" -d"$3s" --latency -H "Accept: $accept" "$1$path" 2>/dev/null | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "99%" { p99 = ms($2) }
    END { printf "%.0f %.3f\n", rps, p99 }'
}
rows=()
for c in 1 16; do
  measure "$base" "$c" 1 >/dev/null
  measure "http://127.0.0.1:$bport" "$c" 1 >/dev/null
  samples_out=()
  for _ in $(seq "$rounds"); do
    read -r f_rps f_p99 < <(measure "$base" "$c" "$duration")
    read -r b_rps b_p99 < <(measure "http://127.0.0.1:$bport" "$c" "$duration")
    samples_out+=("$f_rps $f_p99 $b_rps $b_p99")
  done
  read -r f_rps f_p99 b_rps b_p99 ratio < <(printf '%s\n' "${samples_out[@]}" | python3 -c '
import sys
rounds = [l.split() for l in sys.stdin if l.strip()]
rounds.sort(key=lambda r: float(r[0]) / max(float(r[2]), 1))
f, fp, b, bp = rounds[len(rounds) // 2]
print(f, fp, b, bp, f"{float(f) / max(float(b), 1):.2f}")')
  rows+=("| cached 1280-pixel WebP ($(stat -c %s "$work/cached.webp") bytes) | $c | $f_rps | $f_p99 | $b_rps | $b_p99 | $ratio |")
  echo "cached variant c$c: flint $f_rps req/s, baseline $b_rps req/s, ratio $ratio" >&2
done

mkdir -p bench/results
{
  echo "## Media"
  echo
  echo "Command: \`$command\`  "
  echo "Commit: $(git rev-parse --short HEAD)  "
  echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  "
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -srm); flint, the baseline, vips and wrk share it.  "
  echo "Images: 4000 × 3000 JPEG q85 made with vips, $(stat -c %s "$work/photo-1.jpg") bytes (the first)."
  echo
  echo "**Cached variant** (served from memory by flint; the baseline sends the same bytes), median of $rounds rounds of $duration s:"
  echo
  echo "| response | connections | flint req/s | p99 ms | baseline req/s | p99 ms | flint/baseline |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "**First resize**, 12 MP JPEG -> 1280-pixel WebP at quality 80, median of $samples different images:"
  echo
  echo "| | ms | output |"
  echo "|---|---|---|"
  echo "| flint (HTTP GET of a new variant: read, decode, resize, encode, store) | $flint_ms | $flint_size |"
  echo "| \`vipsthumbnail --size 1280 -o out.webp[Q=80,strip,effort=3]\` (libwebp method 3, as flint) | $vips_ms | $vips_size |"
  echo "| \`vipsthumbnail --size 1280 -o out.webp[Q=80,strip]\` (vips' default effort 4) | $vips_default_ms | |"
  echo
  echo "flint / vips: **$resize_ratio** (same effort), $resize_default_ratio (vips' default effort)."
  echo
  echo "**Memory:** 8 first resizes of 8 different 12 MP JPEGs requested at once took $concurrent_ms ms; flint's peak RSS during them was **$((peak_kb / 1024)) MiB** (VmHWM, reset just before; RSS before: $((rss_before_kb / 1024)) MiB)."
} >bench/results/media.md
cat bench/results/media.md
