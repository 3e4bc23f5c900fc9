import Synchronization

/// A backend whose server could not be reached when storage started: it
/// answers every call with `unavailable` (and why) while it tries to open
/// the real backend again, with backoff, then forwards to it. Storage thus
/// starts without its database and serves as soon as the database is up.
///
/// Any task.
public final class ConnectingBackend: StorageBackend {
    public let name: String
    private let location: String
    private let state: Mutex<State>
    private let retrying = Mutex<Task<Void, Never>?>(nil)

    private enum State {
        case connecting(attempts: Int, lastError: String)
        case ready(any StorageBackend)
        case closed
    }

    /// First retry after `initialDelay`, doubling up to `maximumDelay`.
    public init(name: String, location: String, firstError: String, initialDelay: Duration = .milliseconds(250),
                maximumDelay: Duration = .seconds(10), open: @escaping @Sendable () async throws -> any StorageBackend) {
        self.name = name
        self.location = location
        state = Mutex(.connecting(attempts: 1, lastError: firstError))
        let task = Task { [weak self] in
            var delay = initialDelay
            while !Task.isCancelled {
                try? await Task.sleep(for: delay)
                guard !Task.isCancelled, let self else { return }
                do {
                    let backend = try await open()
                    if !self.becomeReady(backend) { await backend.shutdown() }
                    return
                } catch {
                    self.failed(error)
                }
                delay = min(delay * 2, maximumDelay)
            }
        }
        retrying.withLock { $0 = task }
    }

    /// "ready", or "connecting (attempt N): <last error>".
    public var connectionState: String {
        state.withLock { state in
            switch state {
            case .ready: "ready"
            case .connecting(let attempts, let lastError): "connecting (attempt \(attempts)): \(lastError)"
            case .closed: "closed"
            }
        }
    }

    private func becomeReady(_ backend: any StorageBackend) -> Bool {
        state.withLock { state in
            guard case .connecting = state else { return false }
            state = .ready(backend)
            return true
        }
    }

    private func failed(_ error: any Error) {
        state.withLock { state in
            if case .connecting(let attempts, _) = state { state = .connecting(attempts: attempts + 1, lastError: "\(error)") }
        }
    }

    /// The real backend, or `unavailable` with the reason.
    private func backend() throws -> any StorageBackend {
        try state.withLock { state in
            switch state {
            case .ready(let backend): return backend
            case .connecting(let attempts, let lastError):
                throw StorageError(.unavailable, "storage is not connected to \(location) yet (attempt \(attempts): \(lastError)); it keeps retrying")
            case .closed:
                throw StorageError(.unavailable, "storage is shut down")
            }
        }
    }

    public func shutdown() async {
        let task = retrying.withLock { $0 }
        task?.cancel()
        await task?.value
        let backend: (any StorageBackend)? = state.withLock { state in
            defer { state = .closed }
            if case .ready(let backend) = state { return backend }
            return nil
        }
        await backend?.shutdown()
    }

    public func status() async throws -> StorageStatus {
        guard let backend = try? backend() else {
            return StorageStatus(backend: name, location: location, sizeBytes: 0, namespaces: [], streams: [], sqlSpaces: [],
                                 connection: connectionState)
        }
        var status = try await backend.status()
        status.connection = connectionState
        return status
    }

    // MARK: Forwarded

    public func kvGet(namespace: String, key: [UInt8]) async throws -> KVEntry? {
        try await backend().kvGet(namespace: namespace, key: key)
    }
    public func kvPut(namespace: String, key: [UInt8], value: [UInt8], ttlMilliseconds: UInt64) async throws -> KVEntry {
        try await backend().kvPut(namespace: namespace, key: key, value: value, ttlMilliseconds: ttlMilliseconds)
    }
    public func kvCompareAndSet(namespace: String, key: [UInt8], expectedVersion: UInt64, value: [UInt8],
                                ttlMilliseconds: UInt64) async throws -> KVEntry {
        try await backend().kvCompareAndSet(namespace: namespace, key: key, expectedVersion: expectedVersion, value: value,
                                            ttlMilliseconds: ttlMilliseconds)
    }
    public func kvDelete(namespace: String, key: [UInt8]) async throws -> KVEntry? {
        try await backend().kvDelete(namespace: namespace, key: key)
    }
    public func kvScan(namespace: String, prefix: [UInt8], after cursor: [UInt8], limit: Int) async throws -> KVPage {
        try await backend().kvScan(namespace: namespace, prefix: prefix, after: cursor, limit: limit)
    }
    public func kvSweepExpired() async throws -> Int {
        guard let backend = try? backend() else { return 0 }
        return try await backend.kvSweepExpired()
    }
    public func logAppend(namespace: String, stream: String, payload: [UInt8]) async throws -> UInt64 {
        try await backend().logAppend(namespace: namespace, stream: stream, payload: payload)
    }
    public func logRead(namespace: String, stream: String, from: UInt64, limit: Int) async throws -> LogBatch {
        try await backend().logRead(namespace: namespace, stream: stream, from: from, limit: limit)
    }
    public func logTrim(namespace: String, stream: String, keepLast: UInt64, beforeMilliseconds: Int64) async throws -> TrimOutcome {
        try await backend().logTrim(namespace: namespace, stream: stream, keepLast: keepLast, beforeMilliseconds: beforeMilliseconds)
    }
    public func sqlRun(space: String, sql: String, parameters: [SQLValue]) async throws -> SQLResult {
        try await backend().sqlRun(space: space, sql: sql, parameters: parameters)
    }
    public func sqlBegin(space: String) async throws -> any SQLTransaction {
        try await backend().sqlBegin(space: space)
    }
    public func sqlMigrate(space: String, migrations: [Migration]) async throws -> [Int64] {
        try await backend().sqlMigrate(space: space, migrations: migrations)
    }
}
