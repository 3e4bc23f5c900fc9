#!/usr/bin/env bash
# The benchmark harness. From the repository root:  Benchmarks/run.sh
# Builds release binaries, then in one run on loopback measures with wrk the
# kernel (a plugin's hello, a 1 KiB echo, a route with a parameter), a plain
# Hummingbird 2 application and nginx; reloads plugins under load; runs the
# dispatch micro-benchmark; writes Benchmarks/results/{latest.json,latest.md,http.png}.
# Environment: DURATION (s, default 10), CONNECTIONS (default 64), THREADS (wrk, default 1).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/Benchmarks
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
WORK=$(mktemp -d /tmp/kn-bench.XXXXXX)
RESULTS=$WORK/results.txt
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need nginx; then
  apt-get update -qq && apt-get install -y -qq wrk nginx >/dev/null
fi
python3 -c "import matplotlib" 2>/dev/null || pip install -q matplotlib >/dev/null 2>&1 || echo "no matplotlib: the chart is skipped"

echo "== building (release)"
for product in kernel kernelctl http hello; do
  (cd "$ROOT" && swift build -c release --scratch-path .build-release --product "$product" 2>&1 | tail -1)
done
(cd "$BENCH" && swift build -c release 2>&1 | tail -1)
BIN=$ROOT/.build-release/release
BENCHBIN=$BENCH/.build/release

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # url: wait up to 30 s for an answer
  for _ in $(seq 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "no answer from $1" >&2; exit 1
}
bench() { # target case method url [body-size]
  local line
  line=$(WRK_METHOD=$3 WRK_BODY_SIZE=${5:-0} wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$BENCH/scripts/report.lua" "$4" | grep '^RESULT' | cut -d' ' -f2-)
  echo "$1 $2 $line" | tee -a "$RESULTS"
}

KPORT=$(free_port); HPORT=$(free_port); NPORT=$(free_port)
mkdir -p "$WORK/plugins" "$WORK/data" "$WORK/dispatch"
cp "$BIN/libhttp.so" "$BIN/libhello.so" "$BENCHBIN/libbench.so" "$WORK/plugins/"
"$BIN/kernel" --plugins "$WORK/plugins" --data "$WORK/data" --set http.port="$KPORT" --set http.host=127.0.0.1 \
  --log-level warning 2>"$WORK/kernel.log" & PIDS+=($!)
"$BENCHBIN/HummingbirdHello" "$HPORT" >"$WORK/hummingbird.log" 2>&1 & PIDS+=($!)
cat >"$WORK/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx.error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$NPORT;
    location = /api/hello { default_type application/json; return 200 '{"message":"hello"}'; }
    location /users/ { default_type application/json; return 200 '{"id":"42"}'; }
  }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK" & PIDS+=($!)
wait_http "http://127.0.0.1:$KPORT/healthz"
wait_http "http://127.0.0.1:$HPORT/users/1"
wait_http "http://127.0.0.1:$NPORT/users/1"

echo "== HTTP: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s on $(nproc) cores"
bench kernel hello POST "http://127.0.0.1:$KPORT/api/hello"
bench hummingbird hello POST "http://127.0.0.1:$HPORT/api/hello"
bench nginx hello POST "http://127.0.0.1:$NPORT/api/hello"
bench kernel echo POST "http://127.0.0.1:$KPORT/api/bench.echo" 1024
bench hummingbird echo POST "http://127.0.0.1:$HPORT/api/echo" 1024
bench kernel route GET "http://127.0.0.1:$KPORT/bench/users/42"
bench hummingbird route GET "http://127.0.0.1:$HPORT/users/42"
bench nginx route GET "http://127.0.0.1:$NPORT/users/42"

echo "== reload under load"
reload_under_load() { # name plugin times
  local out=$WORK/reload-$1.txt
  WRK_METHOD=POST wrk -t1 -c"$CONNECTIONS" -d20s -s "$BENCH/scripts/report.lua" "http://127.0.0.1:$KPORT/api/hello" >"$out" &
  local wrk_pid=$!
  sleep 2
  for _ in $(seq "$3"); do
    "$BIN/kernelctl" --socket "$WORK/data/kernel.sock" reload "$2" >/dev/null
    sleep 0.5
  done
  wait "$wrk_pid"
  echo "reload $1 $(grep '^RESULT' "$out" | cut -d' ' -f2-)" | tee -a "$RESULTS"
}
reload_under_load plugin hello 20
reload_under_load http http 5

echo "== dispatch micro-benchmark"
cc -O2 -shared -fPIC -I "$ROOT/Protocols" -o "$WORK/dispatch/libdispatch.so" "$BENCH/scripts/dispatch_plugin.c"
echo "dispatch micro $("$BENCHBIN/DispatchBenchmark" "$WORK/dispatch" 2000000 2>/dev/null | tail -1)" | tee -a "$RESULTS"

echo "== results (machine: $(nproc) cores, $(uname -srm))"
python3 "$BENCH/scripts/report.py" "$BENCH/results" <"$RESULTS"
