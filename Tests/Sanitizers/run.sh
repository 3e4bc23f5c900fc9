#!/usr/bin/env bash
# The tests under a sanitizer: everything (the kernel, the plugins it loads,
# the tests) built with -sanitize=thread or address in a scratch directory of
# its own, then `swift test` there. From the repository root:
#   Tests/Sanitizers/run.sh thread|address [test filter]
# A report fails the run (halt_on_error). Suppressions, with the reason for
# each, are in Tests/Sanitizers/<sanitizer>.supp.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SANITIZER=${1:?usage: run.sh thread|address [filter]}
FILTER=${2:-}
case "$SANITIZER" in
  thread)
    export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$ROOT/Tests/Sanitizers/thread.supp ${TSAN_OPTIONS:-}" ;;
  address)
    # Swift plugins are never unloaded (dlclose): what they hold at exit is not a leak.
    export ASAN_OPTIONS="halt_on_error=1 detect_leaks=0 ${ASAN_OPTIONS:-}" ;;
  *) echo "usage: run.sh thread|address [filter]" >&2; exit 2 ;;
esac
cd "$ROOT"
# The executable exports the sanitizer's runtime: the plugins it dlopens call into it.
ARGS=(--sanitize="$SANITIZER" --scratch-path ".build-$SANITIZER" -Xlinker --export-dynamic)
swift build --build-tests "${ARGS[@]}"
if [ -n "$FILTER" ]; then
  swift test --skip-build "${ARGS[@]}" --filter "$FILTER"
else
  swift test --skip-build "${ARGS[@]}"
fi
