#!/usr/bin/env bash
# Builds the libFuzzer targets (cached) and runs each for a bounded time.
#   Tests/Fuzz/run.sh [--seconds N] [target ...]
# Targets: json-scanner frame-decoder client-message route-pattern config
#          admin cron topic-pattern json-schema (default: all).
# Seeds in corpus/<name>/, optional tokens in dict/<name>.dict.
# Output under .build-fuzz/: bin/, corpus/ (seeds plus what the runs found),
# crashes/<name>/, logs/. Exits non-zero when any target crashed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$ROOT/.build-fuzz"
DEPS="$OUT/deps"
FUZZ="$ROOT/Tests/Fuzz"
source "$FUZZ/deps.sh"

ALL=(json-scanner frame-decoder client-message route-pattern config admin cron topic-pattern json-schema)
seconds=60
targets=()
while (($#)); do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --seconds=*) seconds=${1#*=}; shift ;;
        -h|--help) sed -n 2,7p "$0"; exit 0 ;;
        *) targets+=("$1"); shift ;;
    esac
done
((${#targets[@]})) || targets=("${ALL[@]}")

# What each target compiles: its entry file, then the parser's sources.
entry() {
    case $1 in
        json-scanner) echo JSONScannerFuzz ;;   frame-decoder) echo FrameDecoderFuzz ;;
        client-message) echo ClientMessageFuzz ;; route-pattern) echo RoutePatternFuzz ;;
        config) echo ConfigurationFuzz ;;       admin) echo AdminProtocolFuzz ;;
        cron) echo CronFuzz ;;                  topic-pattern) echo TopicPatternFuzz ;;
        json-schema) echo JSONSchemaFuzz ;;
        *) echo "unknown target '$1' (known: ${ALL[*]})" >&2; return 1 ;;
    esac
}
sources() {
    case $1 in
        json-scanner) # The JSON Schema module's strict parser is the reference.
            echo Sources/EnvelopeJSON/JSONScanner.swift Sources/JSONSchema/JSONParser.swift Sources/JSONSchema/JSONValue.swift \
                "Sources/JSONSchema/JSONValue+Parsing.swift" "Sources/JSONSchema/JSONValue+Literals.swift" ;;
        frame-decoder) echo Sources/EnvelopeTransport/FrameDecoder.swift ;;
        client-message) echo Sources/EnvelopeTransport/ClientMessage.swift "Sources/EnvelopeTransport/ClientMessage+Subscribe.swift" ;;
        route-pattern) echo Sources/KernelCore/Registry/RoutePattern.swift ;;
        config) echo Sources/KernelCore/Support/Configuration.swift Sources/KernelCore/ABI/Status.swift ;;
        admin) echo Sources/KernelCore/Admin/AdminLineReader.swift ;;
        cron) echo Plugins/scheduler/CronKit/*.swift ;;
        topic-pattern) echo Sources/TopicPatterns/*.swift ;;
        json-schema) echo Sources/JSONSchema/*.swift ;;
    esac
}

SWIFTFLAGS=(-sanitize=fuzzer,address -parse-as-library -O -g -package-name fuzz -suppress-warnings)

build() {
    local name=$1 main files flags=() bin="$OUT/bin/$1"
    main=$(entry "$name")
    read -r -a files <<< "$(cd "$ROOT" && sources "$name")"
    files=("${files[@]/#/$ROOT/}" "$FUZZ/targets/$main.swift" "$FUZZ/support/FuzzSupport.swift")
    case $name in
        frame-decoder) read -r -a flags <<< "$(deps_flags)" ;;
        client-message)
            read -r -a flags <<< "$(deps_flags)"
            # EnvelopeJSON is imported by name, so it is a module of its own.
            flags+=(-I "$OUT/mod/$name" "$OUT/mod/$name/EnvelopeJSON.o") ;;
        config) flags=(-Xcc "-fmodule-map-file=$ROOT/Protocols/module.modulemap" -I "$ROOT/Protocols") ;;
    esac
    local hash
    hash=$( (cat "${files[@]}"; cat "$DEPS/.done" 2>/dev/null; echo "${SWIFTFLAGS[*]} ${flags[*]}") | sha256sum | cut -d' ' -f1)
    [[ -x $bin && -f $bin.hash && "$(cat "$bin.hash")" == "$hash" ]] && return 0
    echo "compiling $name..." >&2
    mkdir -p "$OUT/bin"
    if [[ $name == client-message ]]; then
        mkdir -p "$OUT/mod/$name"
        swiftc -module-name EnvelopeJSON "${SWIFTFLAGS[@]}" -wmo -num-threads 0 -emit-module \
            -emit-module-path "$OUT/mod/$name/EnvelopeJSON.swiftmodule" -c -o "$OUT/mod/$name/EnvelopeJSON.o" \
            "$ROOT/Sources/EnvelopeJSON/JSONScanner.swift"
    fi
    # gold warns once per ASan helper symbol; nothing to act on.
    swiftc -module-name "Fuzz${main%Fuzz}" "${SWIFTFLAGS[@]}" "${flags[@]}" "${files[@]}" -o "$bin" \
        2> >(grep -v "Cannot export local symbol" >&2)
    echo "$hash" > "$bin.hash"
}

# libFuzzer's artifacts: crash-, timeout-, oom- and leak- files.
artifacts() { find "$1" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l; }

run() {
    local name=$1 corpus="$OUT/corpus/$1" crashes="$OUT/crashes/$1" log="$OUT/logs/$1.log"
    mkdir -p "$corpus" "$crashes" "$OUT/logs"
    cp -r "$FUZZ/corpus/$name/." "$corpus/" 2>/dev/null || true
    local before
    before=$(artifacts "$crashes")
    local status=0 dict=()
    [[ -f $FUZZ/dict/$name.dict ]] && dict=(-dict="$FUZZ/dict/$name.dict")
    (cd "$OUT" && "$OUT/bin/$name" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 "${dict[@]}" \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus") > "$log" 2>&1 || status=$?
    local runs crashed
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p; s/^stat::number_of_executed_units: *\([0-9]*\)/\1/p' "$log" | tail -1)
    crashed=$(( $(artifacts "$crashes") - before ))
    ((status == 0 || crashed > 0)) || crashed=1 # died without an artifact
    printf '%-15s %12s runs %3d crashes%s\n' "$name" "${runs:-?}" "$crashed" \
        "$( ((crashed)) && echo "  (see $log, $crashes/)")"
    ((crashed == 0))
}

# Swift's own backtracer would catch the signal before libFuzzer writes the crash input.
export SWIFT_BACKTRACE=enable=no
failed=0
for name in "${targets[@]}"; do entry "$name" > /dev/null; done
# NIO once, then the targets two at a time (a cold build is mostly compiling).
[[ " ${targets[*]} " == *" frame-decoder "* || " ${targets[*]} " == *" client-message "* ]] && build_deps
for name in "${targets[@]}"; do
    (($(jobs -rp | wc -l) < 2)) || wait -n
    build "$name" &
done
while (($(jobs -rp | wc -l))); do wait -n; done
for name in "${targets[@]}"; do
    run "$name" || failed=1
done
exit $failed
