#!/usr/bin/env bash
# The middleware stack's cost. From the repository root:
#   Benchmarks/middleware-bench/run.sh [rounds]
# Builds release binaries, then in one run on loopback, with wrk, measures
# POST /api/hello on:
#   bare      the kernel with http and hello only;
#   stack     the same plus observe (request id, access log to a file), guard
#             (security headers, CORS, a rate limit that is not hit) and auth
#             (JWT HS256), every request carrying a token and an Origin;
#   nocache   the stack with auth's cache of verified tokens off (jwt.cache_size=0);
#   hb        Hummingbird 2, plain (Sources/HummingbirdHello);
#   hbstack   Hummingbird 2 with its own middleware doing the same (Sources/HummingbirdStack).
# Rounds alternate the order of the targets; the medians and the ratios go to
# stdout and Benchmarks/results/middleware.md.
# Environment: DURATION (s per run, default 10), CONNECTIONS (default 64).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=$ROOT/Benchmarks
ROUNDS=${1:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
WORK=$(mktemp -d /tmp/kn-mwbench.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
python3 -c "import jwt" 2>/dev/null || pip install -q pyjwt

echo "== building (release)"
for product in kernel http hello observe guard auth; do
  (cd "$ROOT" && swift build -c release --scratch-path .build-release --product "$product" 2>&1 | tail -1)
done
for product in HummingbirdHello HummingbirdStack; do
  (cd "$BENCH" && swift build -c release --product "$product" 2>&1 | tail -1)
done
BIN=$ROOT/.build-release/release
HB=$BENCH/.build/release

SECRET=bench-secret-0123456789abcdef0123456789
TOKEN=$(python3 "$BENCH/middleware-bench/mint.py" "$SECRET")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

start_kernel() { # name port plugins... -- settings...
  local name=$1 port=$2; shift 2
  local dir=$WORK/$name
  mkdir -p "$dir/plugins" "$dir/data"
  while [ "$1" != "--" ]; do cp "$BIN/lib$1.so" "$dir/plugins/"; shift; done
  shift
  local sets=()
  for setting in "$@"; do sets+=(--set "$setting"); done
  "$BIN/kernel" --plugins "$dir/plugins" --data "$dir/data" --set http.port="$port" --set http.host=127.0.0.1 \
    "${sets[@]}" --log-level warning 2>"$dir/kernel.log" & PIDS+=($!)
  wait_http "http://127.0.0.1:$port/healthz"
}

STACK_SETTINGS=(
  "observe.log_file=$WORK/access.log"
  "guard.cors_origins=https://app.example.com"
  "guard.rate_limits=*=1000000/s by ip"
  "auth.jwt.keys=hs256:$SECRET" "auth.jwt.issuer=bench" "auth.jwt.audience=bench"
)
declare -A PORT
for target in bare stack nocache hb hbstack; do PORT[$target]=$(free_port); done
start_kernel bare "${PORT[bare]}" http hello --
start_kernel stack "${PORT[stack]}" http hello observe guard auth -- "${STACK_SETTINGS[@]}"
start_kernel nocache "${PORT[nocache]}" http hello observe guard auth -- "${STACK_SETTINGS[@]}" "auth.jwt.cache_size=0"
"$HB/HummingbirdHello" "${PORT[hb]}" >"$WORK/hb.log" 2>&1 & PIDS+=($!)
"$HB/HummingbirdStack" --port "${PORT[hbstack]}" --log-file "$WORK/hb-access.log" --secret "$SECRET" >"$WORK/hbstack.log" 2>&1 & PIDS+=($!)
wait_http "http://127.0.0.1:${PORT[hb]}/"
wait_http "http://127.0.0.1:${PORT[hbstack]}/"

# Every stack answers 200 with the token (and 401 without, where auth is on).
for target in stack nocache hbstack; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" -H 'Origin: https://app.example.com' \
    "http://127.0.0.1:${PORT[$target]}/api/hello")
  denied=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:${PORT[$target]}/api/hello")
  [ "$code" = 200 ] && [ "$denied" = 401 ] || { echo "$target: $code with a token, $denied without" >&2; exit 1; }
done

run() { # target
  local script=$BENCH/scripts/auth.lua
  WRK_TOKEN=$TOKEN WRK_METHOD=POST wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$script" \
    "http://127.0.0.1:${PORT[$1]}/api/hello" | grep '^RESULT' | sed 's/.*"rps": \([0-9.]*\).*"p99_us": \([0-9]*\).*/\1 \2/'
}
TARGETS=(bare stack nocache hb hbstack)
for round in $(seq "$ROUNDS"); do
  order=("${TARGETS[@]}")
  (( round % 2 )) || order=($(printf '%s\n' "${TARGETS[@]}" | tac))
  for target in "${order[@]}"; do echo "$target $round $(run "$target")"; done
done | tee "$WORK/rounds.txt"

mkdir -p "$BENCH/results"
python3 - "$WORK/rounds.txt" "$BENCH/results/middleware.md" "$ROUNDS" "$DURATION" "$CONNECTIONS" <<'PY'
import statistics, sys, platform
rounds, out, n, duration, connections = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
rps, p99 = {}, {}
for line in open(rounds):
    parts = line.split()
    if len(parts) == 4:
        rps.setdefault(parts[0], []).append(float(parts[2])); p99.setdefault(parts[0], []).append(float(parts[3]))
m = {k: statistics.median(v) for k, v in rps.items()}
q = {k: statistics.median(v) / 1000 for k, v in p99.items()}
names = {"bare": "kernel, http + hello", "stack": "kernel + observe, guard, auth (the usual stack)",
         "nocache": "the same, auth's token cache off", "hb": "Hummingbird 2, plain", "hbstack": "Hummingbird 2 + its middleware, the same stack"}
lines = [f"# Middleware stack (`Benchmarks/middleware-bench/run.sh`): POST /api/hello, wrk -t1 -c{connections} -d{duration}s, {n} rounds, medians", "",
         "| target | req/s | p99 ms |", "|---|---|---|"]
lines += [f"| {names[k]} | {m[k]:,.0f} | {q[k]:.2f} |" for k in ["bare", "stack", "nocache", "hb", "hbstack"] if k in m]
lines += ["", f"- stack ÷ bare: {m['stack']/m['bare']:.2f} (the stack costs {100*(1-m['stack']/m['bare']):.0f}%; goal: at most 15%)",
          f"- stack ÷ Hummingbird with its middleware: {m['stack']/m['hbstack']:.2f}× (goal: at least 1.2×)",
          f"- without the token cache: stack ÷ bare {m['nocache']/m['bare']:.2f}, ÷ Hummingbird with its middleware {m['nocache']/m['hbstack']:.2f}×",
          f"- Hummingbird: its middleware costs {100*(1-m['hbstack']/m['hb']):.0f}% of its plain throughput"]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
