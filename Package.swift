// swift-tools-version:6.0
import PackageDescription

// Plugins are dynamic libraries loaded by the kernel with dlopen. Each one
// binds its own symbols first (-Bsymbolic) so that a plugin's static copy of
// a dependency never resolves to another image's copy.
let pluginLinkerSettings: [LinkerSetting] = [.unsafeFlags(["-Xlinker", "-Bsymbolic"])]

let package = Package(
    name: "Microkernel",
    products: [
        .executable(name: "kernel", targets: ["KernelServer"]),
        .executable(name: "kernelctl", targets: ["KernelCtl"]),
        .library(name: "KernelSDK", targets: ["KernelSDK"]),
        // The kernel as a library, for embedding and for the benchmark harness.
        .library(name: "KernelCore", targets: ["KernelCore"]),
        // Core plugins: lib<name>.so each.
        .library(name: "http", type: .dynamic, targets: ["HTTPPlugin"]),
        // Samples.
        .library(name: "hello", type: .dynamic, targets: ["HelloPlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // The C ABI: one header, nothing to link.
        .systemLibrary(name: "CKernelABI", path: "Protocols"),

        // The kernel: loader, registry, dispatch, admin socket.
        .target(
            name: "KernelCore",
            dependencies: ["CKernelABI", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "KernelServer",
            dependencies: ["KernelCore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/kernel"
        ),
        .executableTarget(
            name: "KernelCtl",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/kernelctl"
        ),

        // The Swift plugin SDK: depends on the C ABI only.
        .target(name: "KernelSDK", dependencies: ["CKernelABI"]),

        // Core plugins.
        .target(
            name: "HTTPPlugin",
            dependencies: [
                "KernelSDK",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Plugins/http",
            linkerSettings: pluginLinkerSettings
        ),

        // Samples: third-party-style plugins.
        .target(
            name: "HelloPlugin",
            dependencies: ["KernelSDK"],
            path: "Samples/hello-swift",
            linkerSettings: pluginLinkerSettings
        ),

        .testTarget(name: "KernelCoreTests", dependencies: ["KernelCore", "CKernelABI"]),
        .testTarget(name: "IntegrationTests", dependencies: ["CKernelABI"]),
    ]
)
