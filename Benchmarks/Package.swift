// swift-tools-version:6.0
// The benchmark harness: a separate package, so the root package's tests never build it.
// Run everything with `Benchmarks/run.sh` from the repository root.
import Foundation
import PackageDescription

// A path dependency is named after its folder, which differs between checkouts.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let rootPackage = root.lastPathComponent.lowercased()

let package = Package(
    name: "Benchmarks",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "bench", type: .dynamic, targets: ["BenchPlugin"]),
        .library(name: "jobbench", type: .dynamic, targets: ["JobBenchPlugin"]),
        .library(name: "eventbench", type: .dynamic, targets: ["EventBenchPlugin"]),
    ],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // The peer: a plain Hummingbird 2 application with the same three routes.
        .executableTarget(
            name: "HummingbirdHello",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")]
        ),
        // The same hello behind Hummingbird's own middleware doing the kernel's usual stack:
        // request id, access log to a file, CORS, a per-IP rate limit, JWT (HS256), security headers.
        .executableTarget(
            name: "HummingbirdStack",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // A plugin with the echo endpoint and the route the HTTP benchmarks call.
        .target(
            name: "BenchPlugin",
            dependencies: [.product(name: "KernelSDK", package: rootPackage)],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-Bsymbolic"])]
        ),
        // No-op jobs, enqueue latency and cron lateness through the scheduler (jobs-bench/run.sh).
        .target(
            name: "JobBenchPlugin",
            dependencies: [.product(name: "KernelSDK", package: rootPackage)],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-Bsymbolic"])]
        ),
        // Local publishes, persisted publishes and the fan-out publisher (events-bench/run.sh).
        .target(
            name: "EventBenchPlugin",
            dependencies: [.product(name: "KernelSDK", package: rootPackage)],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-Bsymbolic"])]
        ),
        // Subscribers on one thread: the kernel's WebSocket subscribers or Redis's, the same client.
        .executableTarget(name: "EventFanout"),
        // ns per call through the kernel's dispatch path next to a direct Swift call.
        .executableTarget(
            name: "DispatchBenchmark",
            dependencies: [.product(name: "KernelCore", package: rootPackage)]
        ),
    ]
)
