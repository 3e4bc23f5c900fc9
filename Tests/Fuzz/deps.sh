# Builds NIOCore and NIOEmbedded (and what they need) from the resolved
# checkouts into $DEPS, once: the targets that decode NIO ByteBuffers link
# them. Sourced by run.sh; uses $ROOT and $DEPS.

CHECKOUTS="$ROOT/.build/checkouts"
NIO="$CHECKOUTS/swift-nio/Sources"
COLL="$CHECKOUTS/swift-collections/Sources"
ATOM="$CHECKOUTS/swift-atomics/Sources"

# -Xcc flags that make every C module of the set visible.
deps_cflags() {
    local m
    for m in CNIOAtomics CNIOLinux CNIODarwin CNIOWindows CNIOWASI CNIOOpenBSD CNIOFreeBSD _AtomicsShims; do
        printf -- '-Xcc -fmodule-map-file=%s/maps/%s/module.modulemap ' "$DEPS" "$m"
    done
}

c_module() { # name dir defines...
    local name=$1 dir=$2; shift 2
    mkdir -p "$DEPS/maps/$name" "$DEPS/obj"
    # An umbrella header, as SwiftPM generates for include/<name>.h.
    printf 'module %s {\n  umbrella header "%s/include/%s.h"\n  export *\n}\n' "$name" "$dir" "$name" \
        > "$DEPS/maps/$name/module.modulemap"
    local c
    while IFS= read -r c; do
        clang -c -O2 -fPIC "$@" -I "$dir/include" "$c" -o "$DEPS/obj/$name.$(basename "$c").o"
    done < <(find "$dir" -name '*.c')
}

swift_module() { # name dir flags...
    local name=$1 dir=$2; shift 2
    # Quoted: some file names have spaces.
    find "$dir" -name '*.swift' | sort | sed 's/.*/"&"/' > "$DEPS/$name.sources"
    swiftc -module-name "$name" -parse-as-library -O -wmo -num-threads 0 -suppress-warnings \
        -emit-module -emit-module-path "$DEPS/modules/$name.swiftmodule" \
        -c -o "$DEPS/obj/$name.o" -I "$DEPS/modules" $(deps_cflags) -Xcc -fPIC "$@" \
        @"$DEPS/$name.sources"
}

build_deps() {
    local stamp="$DEPS/.done"
    local want
    # Rebuilt when a checkout moves or the compiler changes.
    want=$(for repo in swift-nio swift-collections swift-atomics; do
        git -C "$CHECKOUTS/$repo" rev-parse HEAD 2>/dev/null || echo "$repo missing"
    done; swiftc --version 2>&1)
    [[ -f $stamp && "$(cat "$stamp")" == "$want" ]] && return 0
    [[ -d $NIO ]] || { echo "no $NIO: run 'swift package resolve' first" >&2; return 1; }
    echo "building NIOCore for the fuzz targets (once)..." >&2
    rm -rf "$DEPS"
    mkdir -p "$DEPS/modules" "$DEPS/obj"
    c_module CNIOAtomics "$NIO/CNIOAtomics"
    c_module CNIOLinux "$NIO/CNIOLinux" -D_GNU_SOURCE
    c_module CNIODarwin "$NIO/CNIODarwin"
    c_module CNIOWindows "$NIO/CNIOWindows"
    c_module CNIOWASI "$NIO/CNIOWASI"
    c_module CNIOOpenBSD "$NIO/CNIOOpenBSD"
    c_module CNIOFreeBSD "$NIO/CNIOFreeBSD"
    c_module _AtomicsShims "$ATOM/_AtomicsShims"

    local nio=(-swift-version 6 -enable-experimental-feature Lifetimes -enable-upcoming-feature MemberImportVisibility -package-name swift_nio)
    local coll=(-swift-version 6 -package-name swift_collections -enable-upcoming-feature MemberImportVisibility
        -enable-experimental-feature BuiltinModule -enable-experimental-feature Lifetimes
        -enable-experimental-feature InoutLifetimeDependence -enable-experimental-feature AddressableParameters
        -enable-experimental-feature AddressableTypes -enable-experimental-feature SuppressedAssociatedTypesWithDefaults)
    local v
    # swift-collections names its availability floors; on Linux any version will do.
    for v in "5.0" "5.1" "5.6" "5.7" "5.8" "5.9" "5.10" "6.0" "6.1" "6.2" "6.3" "6.4" "6.5"; do
        coll+=(-enable-experimental-feature "AvailabilityMacro=SwiftStdlib $v: macOS 9999")
    done
    swift_module _NIODataStructures "$NIO/_NIODataStructures" "${nio[@]}"
    swift_module _NIOBase64 "$NIO/_NIOBase64" "${nio[@]}"
    swift_module NIOConcurrencyHelpers "$NIO/NIOConcurrencyHelpers" "${nio[@]}"
    swift_module InternalCollectionsUtilities "$COLL/InternalCollectionsUtilities" "${coll[@]}"
    swift_module ContainersPreview "$COLL/ContainersPreview" "${coll[@]}"
    swift_module DequeModule "$COLL/DequeModule" "${coll[@]}"
    swift_module Atomics "$ATOM/Atomics" -swift-version 5 -enable-experimental-feature BuiltinModule -package-name swift_atomics
    swift_module NIOCore "$NIO/NIOCore" "${nio[@]}"
    swift_module NIOEmbedded "$NIO/NIOEmbedded" "${nio[@]}"
    echo "$want" > "$stamp"
}

# Flags for a target that imports NIOCore or NIOEmbedded.
deps_flags() {
    printf -- '-I %s/modules %s' "$DEPS" "$(deps_cflags)"
    printf -- ' %s' "$DEPS"/obj/*.o
}
