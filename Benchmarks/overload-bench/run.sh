#!/usr/bin/env bash
# Overload: does the kernel keep answering GET /healthz and the admin socket,
# with bounded memory, under ten times the load it can serve? From the
# repository root:
#   Benchmarks/overload-bench/run.sh
# Builds release binaries and a C plugin whose endpoint slow.wait answers
# after 50 ms from its own thread, limited to 8 in flight
# ([kernel] endpoint_limits): it can serve 160 calls/s. Then, each for
# DURATION seconds, probing healthz every 10 ms and the admin socket every 100 ms:
#   idle       no load;
#   paced      1,600 calls/s offered to slow.wait (10x what it serves);
#   saturated  wrk -c640 on POST /api/hello.echo (10x the 64 connections that
#              saturate both cores), with [kernel] max_in_flight = 256.
# Prints one JSON line per phase and writes Benchmarks/results/overload.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DURATION=${DURATION:-20}
WORK=$(mktemp -d /tmp/kn-overload.XXXXXX)
KERNEL_PID=
cleanup() { [ -n "$KERNEL_PID" ] && kill "$KERNEL_PID" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
BIN=${KERNEL_BIN_DIR:-$ROOT/.build-release/release}
if [ -z "${KERNEL_BIN_DIR:-}" ]; then
  echo "== building (release)"
  for product in kernel kernelctl http hello; do
    (cd "$ROOT" && swift build -c release --scratch-path .build-release --product "$product" 2>&1 | tail -1)
  done
fi
mkdir -p "$WORK/plugins" "$WORK/data"
chmod 755 "$WORK" "$WORK/plugins"
cp "$BIN/libhttp.so" "$BIN/libhello.so" "$WORK/plugins/"
cc -std=c99 -O2 -shared -fPIC -I "$ROOT/Protocols" -o "$WORK/plugins/libslow.so" "$ROOT/Benchmarks/overload-bench/slow_plugin.c" -lpthread

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SOCKET=$WORK/data/kernel.sock
"$BIN/kernel" --plugins "$WORK/plugins" --data "$WORK/data" --set http.port="$PORT" --set http.host=127.0.0.1 \
  --set kernel.endpoint_limits=slow.wait=8 --set kernel.max_in_flight=256 --log-level warning 2>"$WORK/kernel.log" &
KERNEL_PID=$!
for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
WORKER=$("$BIN/kernelctl" --socket "$SOCKET" --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
PROBE=(python3 "$ROOT/Benchmarks/overload-bench/overload.py" --port "$PORT" --socket "$SOCKET" --pid "$WORKER" --seconds "$DURATION")

echo "== idle"
IDLE=$("${PROBE[@]}" --rate 0); echo "$IDLE"
echo "== paced: 1600 calls/s offered to slow.wait (serves 160/s)"
PACED=$("${PROBE[@]}" --rate 1600 --path /api/slow.wait); echo "$PACED"
echo "== saturated: wrk -c640 on hello.echo"
wrk -t2 -c640 -d"$((DURATION + 2))s" -s "$ROOT/Benchmarks/overload-bench/post.lua" "http://127.0.0.1:$PORT/api/hello.echo" > "$WORK/wrk.txt" &
WRK=$!
sleep 1
SATURATED=$("${PROBE[@]}" --rate 0); echo "$SATURATED"
wait $WRK
grep -E "Requests/sec|Non-2xx|Socket errors" "$WORK/wrk.txt" || true
kill -0 "$WORKER" 2>/dev/null || { echo "the worker died" >&2; exit 1; }

python3 - "$IDLE" "$PACED" "$SATURATED" "$WORK/wrk.txt" > "$ROOT/Benchmarks/results/overload.md" <<'PY'
import json, re, sys
idle, paced, saturated = (json.loads(a) for a in sys.argv[1:4])
wrk = open(sys.argv[4]).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", wrk)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)
print("# Overload (Benchmarks/overload-bench/run.sh, release build, loopback)\n")
print("| phase | load | served | healthz p50 / p99 / max ms | healthz failures | admin p50 / p99 ms | RSS start / peak / end MiB |")
print("|---|---|---|---|---|---|---|")
def row(name, load, served, r):
    h, a, m = r["healthz"], r["admin"], r["rss_mib"]
    print(f"| {name} | {load} | {served} | {h['p50_ms']} / {h['p99_ms']} / {h['max_ms']} | {h['failures']} | "
          f"{a['p50_ms']} / {a['p99_ms']} | {m['start']} / {m['peak']} / {m['end']} |")
row("idle", "none", "-", idle)
row("paced", "1,600/s to slow.wait (serves 160/s)", f"{paced['served_per_s']}/s, {paced['answers'].get('503', 0)} refused 503", paced)
row("saturated", "wrk -t2 -c640 hello.echo", f"{rps.group(1) if rps else '?'}/s, {non2xx.group(1) if non2xx else 0} non-2xx", saturated)
PY
cat "$ROOT/Benchmarks/results/overload.md"
