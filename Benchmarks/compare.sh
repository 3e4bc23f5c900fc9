#!/usr/bin/env bash
# A/B: this checkout's kernel against another checkout's, in one run, on the
# same machine at the same time: the hello, echo and route requests of
# run.sh, alternated round by round so that a change in the machine's speed
# hits both alike. Both checkouts must have been built by Benchmarks/run.sh
# (release binaries in .build-release and Benchmarks/.build).
#
#   Benchmarks/compare.sh OTHER_CHECKOUT [rounds]
# Environment: DURATION (s per run, default 10), CONNECTIONS (default 64).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OTHER=$(cd "${1:?usage: compare.sh OTHER_CHECKOUT [rounds]}" && pwd)
ROUNDS=${2:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
WORK=$(mktemp -d /tmp/kn-compare.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_kernel() { # name checkout port
  local dir=$WORK/$1
  mkdir -p "$dir/plugins" "$dir/data"
  cp "$2/.build-release/release/libhttp.so" "$2/.build-release/release/libhello.so" \
     "$2/Benchmarks/.build/release/libbench.so" "$dir/plugins/"
  "$2/.build-release/release/kernel" --plugins "$dir/plugins" --data "$dir/data" --set http.port="$3" \
    --set http.host=127.0.0.1 --log-level warning 2>"$dir/kernel.log" & PIDS+=($!)
  for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$3/healthz" && return 0; sleep 0.1; done
  echo "kernel $1 did not answer" >&2; exit 1
}
run() { # port method path body-size
  WRK_METHOD=$2 WRK_BODY_SIZE=${4:-0} wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$ROOT/Benchmarks/scripts/report.lua" \
    "http://127.0.0.1:$1$3" | grep '^RESULT' | sed 's/.*"rps": \([0-9.]*\).*"p99_us": \([0-9]*\).*/\1 \2/'
}

A=$(free_port); B=$(free_port)
start_kernel this "$ROOT" "$A"
start_kernel other "$OTHER" "$B"
echo "this: $(git -C "$ROOT" log -1 --format='%h %s' | cut -c1-60)"
echo "other: $(git -C "$OTHER" log -1 --format='%h %s' | cut -c1-60)"
echo "case round this-rps this-p99us other-rps other-p99us"
for round in $(seq "$ROUNDS"); do
  for case in "hello POST /api/hello 0" "echo POST /api/bench.echo 1024" "route GET /bench/users/42 0"; do
    set -- $case
    # Alternate which goes first, so neither always runs on a warmer machine.
    if (( round % 2 )); then this=$(run "$A" "$2" "$3" "$4"); other=$(run "$B" "$2" "$3" "$4")
    else other=$(run "$B" "$2" "$3" "$4"); this=$(run "$A" "$2" "$3" "$4"); fi
    echo "$1 $round $this $other"
  done
done | tee "$WORK/rounds.txt"
echo "== medians (req/s) and ratio this ÷ other"
python3 - "$WORK/rounds.txt" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 6 and parts[1].isdigit():
        rows.setdefault(parts[0], []).append((float(parts[2]), float(parts[4])))
for case, values in rows.items():
    this = statistics.median(v[0] for v in values)
    other = statistics.median(v[1] for v in values)
    print(f"{case}: this {this:.0f}, other {other:.0f}, ratio {this / other:.3f}")
PY
