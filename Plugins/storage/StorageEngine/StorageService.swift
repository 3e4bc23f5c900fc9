/// The storage service without the C ABI: namespaces resolved per caller,
/// limits checked, transactions kept by handle, expiries swept. The plugin
/// calls it from the C functions of `kn_storage_api`; tests and the
/// benchmark call it directly.
public final class StorageService: Sendable {
    public let backend: any StorageBackend
    let transactions = TransactionTable()
    let transactionTimeout: Duration
    private let maintenance: Task<Void, Never>

    public init(backend: any StorageBackend, transactionTimeout: Duration = .seconds(30),
                sweepInterval: Duration = .seconds(5)) {
        self.backend = backend
        self.transactionTimeout = transactionTimeout
        let transactions = transactions
        maintenance = Task {
            // Idle transactions are checked often (they hold locks); expired
            // keys are swept less often (readers already ignore them).
            let tick = min(transactionTimeout / 4, .milliseconds(250))
            var sinceSweep = Duration.zero
            while !Task.isCancelled {
                try? await Task.sleep(for: tick)
                for abandoned in transactions.removeIdle(longerThan: transactionTimeout) {
                    await abandoned.rollback()
                }
                sinceSweep += tick
                if sinceSweep >= sweepInterval {
                    sinceSweep = .zero
                    _ = try? await backend.kvSweepExpired()
                }
            }
        }
    }

    /// Rolls back open transactions and closes the backend.
    public func shutdown() async {
        maintenance.cancel()
        await maintenance.value
        for transaction in transactions.removeAll() { await transaction.rollback() }
        await backend.shutdown()
    }

    public var openTransactions: Int { transactions.count }

    // MARK: Key-value

    public func kvGet(caller: String, namespace: String?, key: [UInt8]) async throws -> KVEntry? {
        let namespace = try Namespaces.resolve(caller: caller, requested: namespace)
        try Limits.checkKey(key)
        return try await backend.kvGet(namespace: namespace, key: key)
    }

    public func kvPut(caller: String, namespace: String?, key: [UInt8], value: [UInt8], ttlMilliseconds: UInt64) async throws -> KVEntry {
        let namespace = try Namespaces.resolve(caller: caller, requested: namespace)
        try Limits.checkKey(key)
        try Limits.checkValue(value)
        return try await backend.kvPut(namespace: namespace, key: key, value: value, ttlMilliseconds: ttlMilliseconds)
    }

    public func kvCompareAndSet(caller: String, namespace: String?, key: [UInt8], expectedVersion: UInt64,
                                value: [UInt8], ttlMilliseconds: UInt64) async throws -> KVEntry {
        let namespace = try Namespaces.resolve(caller: caller, requested: namespace)
        try Limits.checkKey(key)
        try Limits.checkValue(value)
        return try await backend.kvCompareAndSet(namespace: namespace, key: key, expectedVersion: expectedVersion,
                                                 value: value, ttlMilliseconds: ttlMilliseconds)
    }

    public func kvDelete(caller: String, namespace: String?, key: [UInt8]) async throws -> KVEntry? {
        let namespace = try Namespaces.resolve(caller: caller, requested: namespace)
        try Limits.checkKey(key)
        return try await backend.kvDelete(namespace: namespace, key: key)
    }

    public func kvScan(caller: String, namespace: String?, prefix: [UInt8], cursor: [UInt8], limit: UInt32) async throws -> KVPage {
        let namespace = try Namespaces.resolve(caller: caller, requested: namespace)
        if prefix.count > Limits.maxKeyBytes || cursor.count > Limits.maxKeyBytes {
            throw StorageError.tooLarge("prefix and cursor are keys: at most \(Limits.maxKeyBytes) bytes")
        }
        return try await backend.kvScan(namespace: namespace, prefix: prefix, after: cursor, limit: try Limits.pageSize(limit))
    }

    // MARK: Logs

    public func logAppend(caller: String, namespace: String?, stream: String, payload: [UInt8]) async throws -> UInt64 {
        let namespace = try Namespaces.resolve(caller: caller, requested: namespace)
        try Limits.checkStream(stream)
        try Limits.checkRecord(payload)
        return try await backend.logAppend(namespace: namespace, stream: stream, payload: payload)
    }

    public func logRead(caller: String, namespace: String?, stream: String, from: UInt64, limit: UInt32) async throws -> LogBatch {
        let namespace = try Namespaces.resolve(caller: caller, requested: namespace)
        try Limits.checkStream(stream)
        return try await backend.logRead(namespace: namespace, stream: stream, from: min(from, UInt64(Int64.max)),
                                         limit: try Limits.pageSize(limit))
    }

    public func logTrim(caller: String, namespace: String?, stream: String, keepLast: UInt64, beforeMilliseconds: Int64) async throws -> TrimOutcome {
        let namespace = try Namespaces.resolve(caller: caller, requested: namespace)
        try Limits.checkStream(stream)
        return try await backend.logTrim(namespace: namespace, stream: stream, keepLast: keepLast,
                                         beforeMilliseconds: max(0, beforeMilliseconds))
    }

    // MARK: SQL

    public func sqlBegin(caller: String) async throws -> UInt64 {
        let transaction = try await backend.sqlBegin(space: caller)
        return transactions.add(owner: caller, transaction)
    }

    public func sqlRun(caller: String, transaction handle: UInt64, sql: String, parameters: [SQLValue]) async throws -> SQLResult {
        try Limits.checkSQL(sql, parameters)
        guard handle != 0 else { return try await backend.sqlRun(space: caller, sql: sql, parameters: parameters) }
        let transaction = try transactions.use(owner: caller, handle: handle)
        defer { transactions.release(handle: handle) }
        return try await transaction.run(sql: sql, parameters: parameters)
    }

    public func sqlCommit(caller: String, transaction handle: UInt64) async throws {
        let transaction = try transactions.remove(owner: caller, handle: handle)
        try await transaction.commit()
    }

    public func sqlRollback(caller: String, transaction handle: UInt64) async throws {
        let transaction = try transactions.remove(owner: caller, handle: handle)
        await transaction.rollback()
    }

    public func sqlMigrate(caller: String, migrations: [Migration]) async throws -> [Int64] {
        for migration in migrations { try Limits.checkSQL(migration.sql, []) }
        return try await backend.sqlMigrate(space: caller, migrations: migrations)
    }
}
