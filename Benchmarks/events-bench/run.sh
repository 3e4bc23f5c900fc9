#!/usr/bin/env bash
# The event figures, release build, on this machine:
#   - local publish: COUNT events to an in-process handler (no pubsub plugin);
#   - persisted publish on SQLite: PERSIST events in batches of 1000 (the
#     SDK's publish(jsonBatch:)), 4 batches waiting for their store at once;
#     each batch is acknowledged once committed (group commit);
#   - catch-up read: one WebSocket subscriber from offset 0 over those events;
#   - remote fan-out: one publisher, SUBSCRIBERS WebSocket subscribers,
#     100-byte payloads, live topic (not stored, like Redis pub/sub); and the
#     peer in the same run: redis-server pub/sub, the same counts, the same
#     subscriber client (Benchmarks/Sources/EventFanout).
# Writes Benchmarks/results/events.md.
#
#   Benchmarks/events-bench/run.sh [count] [persist] [fan-out count] [subscribers]
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-2000000}
persist=${2:-200000}
fanout=${3:-50000}
subscribers=${4:-100}
port=18290
ws_port=18292
redis_port=18299
scratch=.build-release
for product in kernel http ws storage pubsub; do
  swift build -c release --scratch-path "$scratch" --product "$product" 2>&1 | tail -1
done
(cd Benchmarks && swift build -c release --product eventbench 2>&1 | tail -1 && swift build -c release --product EventFanout 2>&1 | tail -1)
bin="$scratch/release"
client=Benchmarks/.build/release/EventFanout
command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }

work=$(mktemp -d /tmp/events-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

post() { curl -sf -XPOST "localhost:$port/api/$1" -d "$2"; }
field() { python3 -c "import json,sys; print('%.${2:-0}f' % json.load(sys.stdin)['$1'])"; }
start_kernel() { # plugins... -- settings...
  rm -rf "$work/k" && mkdir -p "$work/k/plugins" "$work/k/data"
  while [ "$1" != "--" ]; do cp "$bin/lib$1.so" "$work/k/plugins/"; shift; done; shift
  cp Benchmarks/.build/release/libeventbench.so "$work/k/plugins/"
  "$bin/kernel" --plugins "$work/k/plugins" --data "$work/k/data" --set http.port="$port" --set ws.port="$ws_port" \
    --log-level warning "$@" >"$work/k/kernel.log" 2>&1 &
  kernel_pid=$!
  for _ in $(seq 1 300); do post eventbench.local '{"count":1}' >/dev/null 2>&1 && return; sleep 0.1; done
  echo "the kernel did not start:"; cat "$work/k/kernel.log"; exit 1
}
stop_kernel() { kill "$kernel_pid"; wait "$kernel_pid" 2>/dev/null || true; }

echo "events: $(nproc) cores"
start_kernel http --
local_run=$(post eventbench.local "{\"count\":$count}")
stop_kernel
local_rate=$(echo "$local_run" | field per_second)
echo "local publish to an in-process handler: $local_rate events/s"

# The fan-out topic is not kept (persist), as Redis pub/sub keeps nothing; subscribers may queue the whole run.
start_kernel http ws storage pubsub -- --set pubsub.persist='bench.persist.#' --set pubsub.subscriber_queue=$((fanout + 1000))
persist_run=$(post eventbench.persist "{\"count\":$persist,\"batch\":1000,\"concurrency\":4,\"size\":100}")
persist_rate=$(echo "$persist_run" | field per_second)
echo "persisted publish (SQLite): $persist_rate events/s"
catchup_run=$("$client" ws 127.0.0.1 "$ws_port" 1 "$persist" 'bench.persist.#' 0)
catchup_rate=$(echo "$catchup_run" | field per_second)
echo "catch-up read (one WebSocket subscriber from offset 0): $catchup_rate events/s"
fanout_run=$(HTTP_PORT=$port "$client" ws 127.0.0.1 "$ws_port" "$subscribers" "$fanout" 'bench.fanout.#' - \
  /api/eventbench.publish "{\"count\":$fanout,\"size\":100,\"topic\":\"bench.fanout.tick\"}")
fanout_rate=$(echo "$fanout_run" | field per_second)
echo "fan-out, kernel: $fanout_rate delivered events/s"
stop_kernel

redis-server --port "$redis_port" --save '' --appendonly no --client-output-buffer-limit 'pubsub 0 0 0' \
  --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$redis_port) 2>/dev/null && break; sleep 0.1; done
redis_run=$("$client" redis 127.0.0.1 "$redis_port" "$subscribers" "$fanout" 100)
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
redis_rate=$(echo "$redis_run" | field per_second)
ratio=$(python3 -c "print('%.2f' % ($fanout_rate / $redis_rate))")
echo "fan-out, redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'): $redis_rate delivered events/s (kernel/redis: $ratio)"

{
  echo "# Event figures ($(date -u +%Y-%m-%d), $(nproc) cores, release build)"
  echo
  echo "| measure | figure |"
  echo "|---|---|"
  echo "| local publish to an in-process handler ($count events) | $local_rate events/s |"
  echo "| persisted publish on SQLite, batches of 1000, 4 batches waiting, group commit ($persist events, 100-byte payloads) | $persist_rate events/s |"
  echo "| catch-up read, one WebSocket subscriber from offset 0 | $catchup_rate events/s |"
  echo "| fan-out: 1 publisher, $subscribers WebSocket subscribers, $fanout events of 100 bytes | $fanout_rate delivered events/s |"
  echo "| peer: redis-server pub/sub, $subscribers subscribers, the same client and counts | $redis_rate delivered events/s |"
  echo "| fan-out ratio kernel / redis | $ratio |"
  echo
  echo "The subscribers are one client thread (Benchmarks/Sources/EventFanout) for both servers, on the same machine."
} > Benchmarks/results/events.md
echo "written: Benchmarks/results/events.md"
