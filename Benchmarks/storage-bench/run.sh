#!/usr/bin/env bash
# Storage throughput: KV put, KV get and log append per second
#   - through the kernel: the probe plugin calls the storage service (SDK →
#     C table → storage plugin) in a loop, inside the kernel process;
#   - in one process: SQLite's C API directly, the storage engine without
#     the kernel, PostgresNIO directly (storage-bench);
# on SQLite (synchronous=FULL) and on a local PostgreSQL (fsync on).
#
#   Benchmarks/storage-bench/run.sh [operations] [http port]
set -euo pipefail
cd "$(dirname "$0")/../.."
operations=${1:-5000}
port=${2:-18090}
scratch=.build-release
for product in kernel http storage storage-bench; do
  swift build -c release --scratch-path "$scratch" --product "$product" >/dev/null
done
# The probe plugin is a test fixture: its own package, its own build folder.
swift build -c release --package-path Tests/Fixtures --scratch-path .build-fixtures-release --product storageprobe >/dev/null
bin="$scratch/release"
probe=".build-fixtures-release/release/libstorageprobe.so"

work_prefix=storage-bench . Benchmarks/scripts/postgres.sh

through_kernel() { # backend settings...
  local name=$1; shift
  rm -rf "$work/k" && mkdir -p "$work/k/plugins" "$work/k/data"
  cp "$bin/libhttp.so" "$bin/libstorage.so" "$probe" "$work/k/plugins/"
  "$bin/kernel" --plugins "$work/k/plugins" --data "$work/k/data" --set http.port="$port" "$@" >"$work/k/kernel.log" 2>&1 &
  kernel_pid=$!
  for _ in $(seq 1 100); do curl -sf -XPOST "localhost:$port/api/probe.backend" >/dev/null 2>&1 && break; sleep 0.1; done
  for concurrency in 1 32; do
    curl -sf -XPOST "localhost:$port/api/probe.bench" \
      -d "{\"operations\":$operations,\"value_bytes\":100,\"concurrency\":$concurrency}" |
      python3 -c "import json,sys; f=json.load(sys.stdin); print('%-34s c=%-3d put/s %9.0f  get/s %9.0f  append/s %9.0f' % ('$name', f['concurrency'], f['put_per_second'], f['get_per_second'], f['append_per_second']))"
  done
  kill "$kernel_pid"; wait "$kernel_pid" 2>/dev/null || true; kernel_pid=""
}

echo "operations: $operations per figure, values of 100 bytes; $(nproc) cores"
through_kernel "sqlite through the kernel service"
through_kernel "postgres through the kernel service" --set storage.backend=postgres --set storage.url="$url" --set storage.max_connections=32
"$bin/storage-bench" --operations "$operations" --postgres "$url"
