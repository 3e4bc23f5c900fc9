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
        .library(name: "ws", type: .dynamic, targets: ["WSPlugin"]),
        .library(name: "tcp", type: .dynamic, targets: ["TCPPlugin"]),
        // For transport authors: start calls, stream items, serve on the kernel's listener.
        .library(name: "KernelTransport", targets: ["KernelTransport"]),
        // Calls endpoints over HTTP, WebSocket or TCP from Swift programs.
        .library(name: "KernelClient", targets: ["KernelClient"]),
        // Samples.
        .library(name: "hello", type: .dynamic, targets: ["HelloPlugin"]),
        // Storage: key-value, logs and SQL on SQLite or PostgreSQL (Protocols/kn_storage.h).
        .library(name: "storage", type: .dynamic, targets: ["StoragePlugin"]),
        .library(name: "users", type: .dynamic, targets: ["UsersPlugin"]),
        // Scheduler: durable jobs, queues and cron schedules on storage (Protocols/kn_scheduler.h).
        .library(name: "scheduler", type: .dynamic, targets: ["SchedulerPlugin"]),
        // Pub/sub: a durable event log, remote subscribers, durable consumers (Protocols/kn_pubsub.h).
        .library(name: "pubsub", type: .dynamic, targets: ["PubsubPlugin"]),
        // Middleware: request ids, access log, timing (observe); CORS, security headers,
        // rate limits, validation (guard); JWT and API keys (auth).
        .library(name: "observe", type: .dynamic, targets: ["ObservePlugin"]),
        .library(name: "guard", type: .dynamic, targets: ["GuardPlugin"]),
        .library(name: "auth", type: .dynamic, targets: ["AuthPlugin"]),
        .library(name: "cache", type: .dynamic, targets: ["CachePlugin"]),
        .executable(name: "storage-bench", targets: ["StorageBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "4.5.2"..<"5.0.0"),
    ],
    targets: [
        // The C ABI: one header, nothing to link.
        .systemLibrary(name: "CKernelABI", path: "Protocols"),

        // The kernel: loader, registry, dispatch, admin socket, supervision.
        .target(name: "CSupervision"),
        .target(
            name: "KernelCore",
            dependencies: ["CKernelABI", "CSupervision", "TopicPatterns", "PluginSignatures", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "KernelServer",
            dependencies: ["KernelCore", "PluginSignatures", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "KernelCtl",
            dependencies: [
                "KernelClient", "PluginSignatures",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // The Swift plugin SDK: depends on the C ABI only, and does not re-export it.
        .target(name: "KernelSDK", dependencies: ["CKernelABI"]),
        // What the middleware plugins share: which calls a middleware applies to, pattern=value rules.
        .target(name: "MiddlewareKit", dependencies: ["KernelSDK"]),
        // Pinned plugins: trust files, SHA-256 digests and Ed25519 signatures (the kernel verifies, kernelctl signs).
        .target(name: "PluginSignatures", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // Event topic patterns (`*`, a final `#` or `>`): the kernel's handlers and the pubsub plugin.
        .target(name: "TopicPatterns"),
        // The transport kit: calls started for a client, their items and
        // outcome; a server on the kernel's listener that drains on stop.
        .target(
            name: "KernelTransport",
            dependencies: [
                "KernelSDK",
                "CKernelABI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),

        // Core plugins.
        .target(
            name: "HTTPPlugin",
            dependencies: [
                "KernelSDK",
                "KernelTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            path: "Plugins/http/HTTPPlugin",
            linkerSettings: pluginLinkerSettings
        ),

        // A JSON object scanner (no values built) for the envelope, shared by
        // the transports and the client library; no dependencies.
        .target(name: "EnvelopeJSON"),
        // What the ws and tcp transports share: the JSON envelope, calls in
        // flight by id, the TCP frame decoder, UTF-8 validation. Linked into each of them.
        .target(
            name: "EnvelopeTransport",
            dependencies: [
                "KernelSDK",
                "KernelTransport",
                "EnvelopeJSON",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "WSPlugin",
            dependencies: [
                "EnvelopeTransport",
                "KernelTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            path: "Plugins/ws/WSPlugin",
            linkerSettings: pluginLinkerSettings
        ),
        .target(
            name: "TCPPlugin",
            dependencies: ["EnvelopeTransport", "KernelTransport", .product(name: "NIOCore", package: "swift-nio")],
            path: "Plugins/tcp/TCPPlugin",
            linkerSettings: pluginLinkerSettings
        ),

        // The client library: the same calls and streams over HTTP, WS or TCP.
        .target(
            name: "KernelClient",
            dependencies: [
                "EnvelopeJSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),

        // Samples: third-party-style plugins.
        .target(
            name: "HelloPlugin",
            dependencies: ["KernelSDK"],
            path: "Samples/hello-swift/HelloPlugin",
            linkerSettings: pluginLinkerSettings
        ),

        // Storage: the engine (SQLite and PostgreSQL backends, no kernel types) and
        // the plugin that serves it as the "storage" service.
        .systemLibrary(name: "CSQLite", path: "Plugins/storage/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "StorageEngine",
            dependencies: [
                "CSQLite",
                "CKernelABI", // the limits of kn_storage.h, nothing else
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Plugins/storage/StorageEngine"
        ),
        .target(
            name: "StoragePlugin",
            dependencies: ["KernelSDK", "CKernelABI", "StorageEngine"],
            path: "Plugins/storage/StoragePlugin",
            linkerSettings: pluginLinkerSettings
        ),
        .target(
            name: "UsersPlugin",
            dependencies: ["KernelSDK"],
            path: "Samples/users/UsersPlugin",
            linkerSettings: pluginLinkerSettings
        ),
        .executableTarget(
            name: "StorageBench",
            dependencies: ["StorageEngine", "CSQLite", .product(name: "PostgresNIO", package: "postgres-nio")],
            path: "Benchmarks/storage-bench/StorageBench"
        ),
        .testTarget(name: "StorageTests", dependencies: ["StorageEngine"]),

        // Scheduler: cron expressions and their next fire times in a time zone
        // (Debian cron semantics, no kernel types).
        .target(name: "CronKit", path: "Plugins/scheduler/CronKit"),
        .testTarget(name: "CronKitTests", dependencies: ["CronKit"], exclude: ["Scripts"]),
        .target(
            name: "SchedulerPlugin",
            dependencies: ["KernelSDK", "CKernelABI", "CronKit"],
            path: "Plugins/scheduler/SchedulerPlugin",
            linkerSettings: pluginLinkerSettings
        ),

        // Pub/sub: the event log on storage, subscribers over ws, tcp and http, durable consumers.
        .target(
            name: "PubsubPlugin",
            dependencies: ["KernelSDK", "CKernelABI", "TopicPatterns", "EnvelopeJSON"],
            path: "Plugins/pubsub/PubsubPlugin",
            linkerSettings: pluginLinkerSettings
        ),

        // Middleware plugins.
        .target(
            name: "ObservePlugin",
            dependencies: ["KernelSDK", "MiddlewareKit"],
            path: "Plugins/observe/ObservePlugin",
            linkerSettings: pluginLinkerSettings
        ),
        .target(
            name: "GuardPlugin",
            dependencies: ["KernelSDK", "MiddlewareKit", "JSONSchema"],
            path: "Plugins/guard/GuardPlugin",
            linkerSettings: pluginLinkerSettings
        ),
        // Authentication without kernel types: JWT verification (jwt-kit), hashed API keys, rules.
        .target(
            name: "AuthCore",
            dependencies: [
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Plugins/auth/AuthCore"
        ),
        .testTarget(name: "AuthCoreTests", dependencies: ["AuthCore"]),
        .target(
            name: "AuthPlugin",
            dependencies: ["KernelSDK", "MiddlewareKit", "AuthCore"],
            path: "Plugins/auth/AuthPlugin",
            linkerSettings: pluginLinkerSettings
        ),
        .target(
            name: "CachePlugin",
            dependencies: ["KernelSDK", "MiddlewareKit"],
            path: "Plugins/cache/CachePlugin",
            linkerSettings: pluginLinkerSettings
        ),
        // JSON Schema (2020-12) validation; no dependencies.
        .target(name: "JSONSchema"),

        // A load generator for the transports (echo round trips per second).
        .executableTarget(name: "LoadClient", dependencies: ["KernelClient"], path: "Benchmarks/LoadClient"),

        .testTarget(name: "KernelCoreTests", dependencies: ["KernelCore", "CKernelABI", "TopicPatterns"]),
        .testTarget(name: "KernelSDKTests", dependencies: ["KernelSDK", "CKernelABI"]),
        .testTarget(name: "JSONSchemaTests", dependencies: ["JSONSchema"]),
        .testTarget(
            name: "EnvelopeTests",
            dependencies: [
                "EnvelopeJSON",
                "EnvelopeTransport",
                "KernelTransport",
                "KernelClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        // Scripts/: real clients in other languages (Python websockets), run by the tests.
        .testTarget(name: "IntegrationTests", dependencies: ["CKernelABI", "KernelClient"], exclude: ["Scripts"]),
    ]
)
