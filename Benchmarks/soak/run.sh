#!/usr/bin/env bash
# Soak: a kernel with http, ws, tcp, storage, scheduler, pubsub and hello
# under mixed load for a bounded time (default 30 minutes):
#   - HTTP: wrk on POST /api/hello (python clients instead when wrk is not installed:
#     `apt-get install -y wrk`);
#   - WebSocket and TCP: python clients calling continuously (soak_load.py);
#   - storage writes (and pubsub publishes), every acknowledged one read back at the end;
#   - `kernelctl reload hello` every 30 s;
#   - the kernel's RSS and descriptors sampled every 10 s into samples.csv.
# Prints a table (time, RSS MiB, fds, requests served), start and end figures,
# and whether every write read back. Exits non-zero if the kernel died or a
# write was lost.
#
#   Benchmarks/soak/run.sh [--minutes M] [--reload PLUGINS] [--reload-every S]
#                          [--sample-every S] [--wrk-connections N] [--no-wrk] [--out DIR]
#   KERNEL_BIN_DIR=/path/to/binaries Benchmarks/soak/run.sh --minutes 3   # builds nothing
#
# Without KERNEL_BIN_DIR it runs `swift build -c release --scratch-path .build-release`
# and uses .build-release/release.
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/../.."
repo=$(pwd)

minutes=30
reload=hello
reload_every=30
sample_every=10
wrk_connections=4
use_wrk=1
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --reload) reload=$2; shift 2 ;;
    --reload-every) reload_every=$2; shift 2 ;;
    --sample-every) sample_every=$2; shift 2 ;;
    --wrk-connections) wrk_connections=$2; shift 2 ;;
    --no-wrk) use_wrk=0; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
seconds=$(python3 -c "print(int(float('$minutes') * 60))")

if [ -n "${KERNEL_BIN_DIR:-}" ]; then
  bin=$KERNEL_BIN_DIR
else
  swift build -c release --scratch-path .build-release
  bin=.build-release/release
fi
bin=$(cd "$bin" && pwd)
plugins="http ws tcp storage scheduler pubsub hello"
for file in kernel kernelctl $(for p in $plugins; do echo "lib$p.so"; done); do
  [ -e "$bin/$file" ] || { echo "missing $bin/$file" >&2; exit 2; }
done

work=${out:-$(mktemp -d /tmp/kn-soak-XXXXXX)}
mkdir -p "$work/plugins" "$work/data"
for p in $plugins; do cp "$bin/lib$p.so" "$work/plugins/"; done
socket="$work/data/kernel.sock"
kernelctl="$bin/kernelctl"

kernel_pid=""
wrk_pid=""
cleanup() {
  [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null || true
  if [ -n "$kernel_pid" ] && kill -0 "$kernel_pid" 2>/dev/null; then
    kill -TERM "$kernel_pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$kernel_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$kernel_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

"$bin/kernel" --plugins "$work/plugins" --data "$work/data" --socket "$socket" \
  --set http.port=0 --set ws.port=0 --set tcp.port=0 >"$work/kernel.log" 2>&1 </dev/null &
kernel_pid=$!

# Ready when every plugin is listed and the three transports listen.
ports=""
for _ in $(seq 1 300); do
  if ports=$("$kernelctl" --socket "$socket" --json status 2>/dev/null | python3 -c '
import json, sys
status = json.load(sys.stdin)
ports = {l["plugin"]: l["port"] for l in status["listeners"]}
assert all(p in ports for p in ("http", "ws", "tcp")) and status["plugins"] >= 7
print(ports["http"], ports["ws"], ports["tcp"])' 2>/dev/null); then
    break
  fi
  kill -0 "$kernel_pid" 2>/dev/null || { echo "the kernel exited during start-up; log:" >&2; cat "$work/kernel.log" >&2; exit 1; }
  ports=""
  sleep 0.2
done
[ -n "$ports" ] || { echo "the kernel was not ready within 60 s; log in $work/kernel.log" >&2; exit 1; }
read -r http_port ws_port tcp_port <<<"$ports"
# The worker runs the plugins (the kernel process supervises it): it is what is sampled, and it must never be replaced.
worker_pid=$("$kernelctl" --socket "$socket" --json status | python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])')
echo "soak: ${minutes} min, kernel pid $kernel_pid (worker $worker_pid), http $http_port, ws $ws_port, tcp $tcp_port, work dir $work" >&2
echo "      reload of '$reload' every ${reload_every} s, samples every ${sample_every} s" >&2

http_clients=0
wrk_prefix=""
if [ "$use_wrk" = 1 ] && command -v wrk >/dev/null; then
  wrk_prefix="$work/wrk"
  # Each wrk thread writes how many 200s it got, so the samples can count requests served as they go.
  cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
local threads = {}
local counter = 1
function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end
local ok = 0
local failed = 0
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else failed = failed + 1 end
  if (ok + failed) % 200 == 0 then
    local f = io.open("$wrk_prefix-thread-" .. id, "w")
    if f then f:write(ok .. " " .. failed .. "\n"); f:close() end
  end
end
function done(summary, latency, requests)
  local f = io.open("$wrk_prefix-summary.json", "w")
  f:write(string.format('{"requests":%d,"seconds":%.1f,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"non_2xx":%d,"timeouts":%d,"p50_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  f:close()
end
LUA
  wrk -t1 -c"$wrk_connections" -d"${seconds}s" --timeout 10s -s "$work/post.lua" "http://127.0.0.1:$http_port/api/hello" \
    >"$work/wrk.txt" 2>&1 &
  wrk_pid=$!
else
  [ "$use_wrk" = 1 ] && echo "wrk is not installed (apt-get install -y wrk): python clients load HTTP instead" >&2
  http_clients=2
fi

status=0
python3 "$repo/Benchmarks/soak/soak_load.py" --http "$http_port" --ws "$ws_port" --tcp "$tcp_port" \
  --socket "$socket" --pid "$worker_pid" --kernelctl "$kernelctl" --seconds "$seconds" --out "$work" \
  --reload "$reload" --reload-every "$reload_every" --sample-every "$sample_every" --pubsub \
  --http-clients "$http_clients" ${wrk_prefix:+--wrk-prefix "$wrk_prefix"} || status=$?

if [ -n "$wrk_pid" ]; then
  # wrk stops at the same deadline; give it a little longer, then stop it.
  for _ in $(seq 1 200); do kill -0 "$wrk_pid" 2>/dev/null || break; sleep 0.1; done
  kill "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" 2>/dev/null || true
  wrk_pid=""
  if [ -s "$wrk_prefix-summary.json" ]; then
    python3 - "$wrk_prefix-summary.json" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))
print("wrk http: %d requests in %.0f s (%.0f/s), non-2xx %d, errors connect %d read %d write %d timeout %d, p50 %.2f ms, p99 %.2f ms, max %.0f ms"
      % (w["requests"], w["seconds"], w["requests"] / max(1, w["seconds"]), w["non_2xx"], w["connect_errors"],
         w["read_errors"], w["write_errors"], w["timeouts"], w["p50_ms"], w["p99_ms"], w["max_ms"]))
PY
  else
    echo "wrk: no summary (see $work/wrk.txt)"
  fi
fi

if ! kill -0 "$kernel_pid" 2>/dev/null || ! kill -0 "$worker_pid" 2>/dev/null; then
  echo "FAILED: the kernel or its worker died; log in $work/kernel.log"
  exit 1
fi
images=$(ls "$work/data/images" 2>/dev/null | wc -l)
echo "plugin images kept in data/images: $images (a reload maps a new copy; old Swift images are never unmapped)"
if [ "$status" -ne 0 ]; then
  echo "FAILED: writes were lost or the kernel died (summary: $work/summary.json)"
  exit 1
fi
echo "OK: the kernel stayed up and every acknowledged write read back (samples: $work/samples.csv)"
