// swift-tools-version:6.0
// Test fixtures: plugins the integration tests load, built by the tests
// themselves (Tests/IntegrationTests/Products.swift), so that no product of
// the main package exists only for tests.
import Foundation
import PackageDescription

// A path dependency is named after its folder, which differs between checkouts.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let rootPackage = root.lastPathComponent.lowercased()

let package = Package(
    name: "Fixtures",
    products: [
        // Drives the storage service through the SDK (integration tests, storage benchmark).
        .library(name: "storageprobe", type: .dynamic, targets: ["StorageProbePlugin"]),
        // Drives the scheduler through the SDK: a job that fails, sleeps, snoozes or discards on demand.
        .library(name: "jobprobe", type: .dynamic, targets: ["JobProbePlugin"]),
        // Drives the pubsub plugin through the SDK: auth from headers, publishes for a request, a durable consumer that fails on demand, filters, a publish rule.
        .library(name: "eventprobe", type: .dynamic, targets: ["EventProbePlugin"]),
        // Endpoints the middleware tests call: a schema, caching validators, a job and an invoke that carry the request id, an internal error.
        .library(name: "mwprobe", type: .dynamic, targets: ["MiddlewareProbePlugin"]),
    ],
    dependencies: [.package(path: "../..")],
    targets: [
        .target(
            name: "StorageProbePlugin",
            dependencies: [.product(name: "KernelSDK", package: rootPackage)],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-Bsymbolic"])]
        ),
        .target(
            name: "JobProbePlugin",
            dependencies: [.product(name: "KernelSDK", package: rootPackage)],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-Bsymbolic"])]
        ),
        .target(
            name: "MiddlewareProbePlugin",
            dependencies: [.product(name: "KernelSDK", package: rootPackage)],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-Bsymbolic"])]
        ),
        .target(
            name: "EventProbePlugin",
            dependencies: [.product(name: "KernelSDK", package: rootPackage)],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-Bsymbolic"])]
        ),
    ]
)
