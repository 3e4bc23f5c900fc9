import CKernelABI
import Dispatch
import Glibc
import Synchronization

/// A loaded plugin: its image, configuration, registrations in the making,
/// metrics and the count of calls it has in flight.
///
/// A `kn_plugin *` is this object, unretained. The kernel never frees an
/// instance that a plugin may still hold (see `Kernel.retired`).
final class PluginInstance: @unchecked Sendable {
    enum State: String, Sendable {
        case initializing, running, draining, stopped
    }

    let image: PluginImage
    let generation: Int
    /// The kernel outlives every plugin; unowned(unsafe) keeps `call_new` free of refcounting.
    unowned(unsafe) let kernel: Kernel
    let loadedAt: Int64
    /// The running instance this one replaces while a reload is under way.
    var replacing: PluginInstance?
    /// Registrations made so far (control thread).
    var registrations = Registrations()
    var state: State = .initializing
    var lastError: String?
    /// Listeners asked for with `host->listen` ("host|port"), so a reload can
    /// close those the new version no longer uses.
    var requestedListeners: Set<String> = []

    private let config: [String: OwnedBuffer]
    private let dataDirectory: OwnedBuffer
    private let inFlight = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)
    private let drained = DispatchSemaphore(value: 0)
    private let metrics = Mutex<[String: Int64]>([:])

    var name: String { image.name }
    /// Built against ABI 1.1 or later: as a call's starter it calls
    /// `call_ready` after refusing an item (older starters never do).
    var signalsReady: Bool { image.descriptor.abi_minor >= 1 }
    /// The name as a C string for `plugin_name`.
    let nameBuffer: OwnedBuffer

    init(image: PluginImage, generation: Int, kernel: Kernel, config: [String: String], dataDirectory: String) {
        self.image = image
        self.generation = generation
        self.kernel = kernel
        self.config = config.mapValues(OwnedBuffer.init)
        self.dataDirectory = OwnedBuffer(dataDirectory)
        self.loadedAt = currentMilliseconds()
        self.nameBuffer = OwnedBuffer(image.name)
    }

    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    static func from(_ handle: OpaquePointer) -> PluginInstance {
        Unmanaged<PluginInstance>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }

    // MARK: Calls in flight

    func beginCall() { inFlight.add(1, ordering: .relaxed) }
    func endCall() {
        // The last call out wakes a drain that waits for it; otherwise this is one atomic.
        // Sequentially consistent with drain(): one of the two sees the other.
        if inFlight.subtract(1, ordering: .sequentiallyConsistent).newValue == 0 && draining.load(ordering: .sequentiallyConsistent) {
            drained.signal()
        }
    }
    var callsInFlight: Int { inFlight.load(ordering: .sequentiallyConsistent) }

    /// Waits until no call is in flight, or the deadline passes: woken by
    /// the last call's end, not by polling. Control thread. Returns whether it drained.
    func drain(timeoutMilliseconds: Int) -> Bool {
        draining.store(true, ordering: .sequentiallyConsistent)
        defer { draining.store(false, ordering: .sequentiallyConsistent) }
        let deadline = DispatchTime.now() + .milliseconds(timeoutMilliseconds)
        // A signal left from an earlier drain only makes the count be read again.
        while callsInFlight > 0 {
            if drained.wait(timeout: deadline) == .timedOut { return callsInFlight == 0 }
        }
        return true
    }

    // MARK: Configuration, data, metrics

    func configValue(_ key: String) -> UnsafePointer<CChar>? { config[key]?.cString }

    var configuration: [String: String] { config.mapValues(\.string) }

    var dataDirectoryPath: UnsafePointer<CChar> {
        _ = try? FileIO.makeDirectory(dataDirectory.string)
        return dataDirectory.cString
    }

    func addMetric(_ name: String, _ delta: Int64) { metrics.withLock { $0[name, default: 0] += delta } }
    func setMetric(_ name: String, _ value: Int64) { metrics.withLock { $0[name] = value } }
    var metricValues: [String: Int64] { metrics.withLock { $0 } }
}

func currentMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

func monotonicMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
}
