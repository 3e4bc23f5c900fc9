#!/usr/bin/env bash
# The scheduler's figures, release build, on this machine:
#   - no-op jobs: COUNT enqueued in batches into a paused queue, then worked
#     off once it is resumed (enqueue/s, work/s, end to end), and COUNT more
#     into the running queue (end to end), on SQLite (synchronous=FULL) and
#     on a local PostgreSQL (fsync on);
#   - single enqueue latency (p50, p99), one after another;
#   - cron lateness: a schedule every second for a minute, fire time to
#     handler start (p50, p99);
#   - the peer in the same run: huey on SQLite (fsync on), the same count.
# Writes Benchmarks/results/jobs.md.
#
#   Benchmarks/jobs-bench/run.sh [count] [http port]
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-100000}
port=${2:-18190}
concurrency=${CONCURRENCY:-500}
scratch=.build-release
for product in kernel kernelctl http storage scheduler; do
  swift build -c release --scratch-path "$scratch" --product "$product" 2>&1 | tail -1
done
(cd Benchmarks && swift build -c release --product jobbench 2>&1 | tail -1)
bin="$scratch/release"
python3 -c "import huey" 2>/dev/null || pip install -q huey

work_prefix=jobs-bench . Benchmarks/scripts/postgres.sh

post() { curl -sf -XPOST "localhost:$port/api/$1" -d "$2"; }
field() { python3 -c "import json,sys; print('%.${2:-0}f' % json.load(sys.stdin)['$1'])"; }
start_kernel() { # settings...
  rm -rf "$work/k" && mkdir -p "$work/k/plugins" "$work/k/data"
  cp "$bin/libhttp.so" "$bin/libstorage.so" "$bin/libscheduler.so" Benchmarks/.build/release/libjobbench.so "$work/k/plugins/"
  "$bin/kernel" --plugins "$work/k/plugins" --data "$work/k/data" --set http.port="$port" \
    --set scheduler.queues="default:10,bench:$concurrency" "$@" >"$work/k/kernel.log" 2>&1 &
  kernel_pid=$!
  for _ in $(seq 1 300); do post bench.lateness '{}' >/dev/null 2>&1 && ctl queues list && return; sleep 0.1; done
  echo "the kernel did not start:"; cat "$work/k/kernel.log"; exit 1
}
stop_kernel() { kill "$kernel_pid"; wait "$kernel_pid" 2>/dev/null || true; kernel_pid=""; }
ctl() { "$bin/kernelctl" --socket "$work/k/data/kernel.sock" "$@" >/dev/null; }

rows=()
throughput() { # name settings...
  local name=$1; shift
  start_kernel "$@"
  ctl queues pause bench
  local enqueue; enqueue=$(post bench.enqueue "{\"count\":$count,\"batch\":1000,\"queue\":\"bench\"}")
  ctl queues resume bench
  local drain; drain=$(post bench.wait "{\"count\":$count}")
  # Again with the queue running: workers take jobs while the batches arrive.
  local live; live=$(post bench.enqueue "{\"count\":$count,\"batch\":1000,\"queue\":\"bench\"}")
  local rest; rest=$(post bench.wait "{\"count\":$count}")
  local latency; latency=$(post bench.latency '{"count":2000}')
  stop_kernel
  local e w t o p50 p99
  e=$(echo "$enqueue" | field per_second); w=$(echo "$drain" | field per_second)
  t=$(python3 -c "print('%.0f' % ($count / ($(echo "$enqueue" | field seconds 3) + $(echo "$drain" | field seconds 3))))")
  o=$(python3 -c "print('%.0f' % ($count / ($(echo "$live" | field seconds 3) + $(echo "$rest" | field seconds 3))))")
  p50=$(echo "$latency" | field p50 2); p99=$(echo "$latency" | field p99 2)
  rows+=("| $name | $e | $w | $t | $o | $p50 | $p99 |")
  echo "${rows[-1]}"
}

echo "jobs: $count no-op jobs, batches of 1000, queue concurrency $concurrency; $(nproc) cores"
echo "| run | enqueue/s | work/s | end to end jobs/s (paused) | end to end jobs/s (running) | enqueue p50 ms | enqueue p99 ms |"
throughput "kernel scheduler, SQLite"
throughput "kernel scheduler, PostgreSQL" --set storage.backend=postgres --set storage.url="$url" --set storage.max_connections=16

mkdir -p "$work/huey"
peer=$(python3 Benchmarks/jobs-bench/huey_bench.py "$work/huey" "$count" 1000 8 2>/dev/null)
pe=$(echo "$peer" | field enqueue_per_second); pw=$(echo "$peer" | field work_per_second)
pt=$(python3 -c "import json; f=json.loads('''$peer'''); print('%.0f' % ($count / ($count / f['enqueue_per_second'] + $count / f['work_per_second'])))")
rows+=("| $(echo "$peer" | python3 -c "import json,sys; print(json.load(sys.stdin)['peer'])") | $pe | $pw | $pt | | | |")
echo "${rows[-1]}"

start_kernel --set jobbench.tick=on
sleep 62
lateness=$(post bench.lateness '{}')
stop_kernel
echo "cron lateness (every second for a minute, fire time to handler start): $lateness"

{
  echo "# Scheduler figures ($(date -u +%Y-%m-%d), $(nproc) cores, release build)"
  echo
  echo "$count no-op jobs enqueued in batches of 1000 into a paused queue, then worked off at concurrency $concurrency"
  echo "(paused: count / (enqueue time + work-off time)); then $count more into the running queue (running: count /"
  echo "time until the last has run). Enqueue latency: 2000 single enqueues one after another. The peer enqueues,"
  echo "then works off, as in the paused run."
  echo
  echo "| run | enqueue/s | work/s | end to end jobs/s (paused) | end to end jobs/s (running) | enqueue p50 ms | enqueue p99 ms |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Cron lateness, a schedule every second for 62 s, fire time to handler start (ms): $lateness"
} > Benchmarks/results/jobs.md
echo "written: Benchmarks/results/jobs.md"
