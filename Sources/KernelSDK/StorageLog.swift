import CKernelABI
import Foundation

/// An append-only stream of records (up to 1 MiB each) with offsets 0, 1, 2...
///
/// ```swift
/// let audit = try kernel.storage().log("audit")
/// let offset = try await audit.append(json: Change(user: "42", field: "email"))
/// let batch = try await audit.read(from: offset, limit: 100)
/// ```
public struct LogStream: Sendable {
    let storage: Storage
    public let namespace: String?
    public let name: String

    /// Appends one record (durable on return) and returns its offset.
    @discardableResult
    public func append(_ payload: [UInt8]) async throws(PluginError) -> UInt64 {
        let storage = storage
        return try await OneShot<UInt64>.wait { waiter throws(PluginError) in
            guard let function = storage.table.pointee.log_append else {
                throw StorageErrors.missing("log_append")
            }
            withBytes(payload) { payload in
                function(storage.handle, namespace, name, payload, { userData, status, message, offset, _ in
                    OneShot<UInt64>.take(userData).finish(status, message, offset)
                }, waiter.retained)
            }
        }
    }

    @discardableResult
    public func append(_ text: String) async throws(PluginError) -> UInt64 { try await append(Array(text.utf8)) }

    @discardableResult
    public func append<T: Encodable>(json value: T) async throws(PluginError) -> UInt64 {
        try await append(try JSON.encode(value, what: "value"))
    }

    /// Up to `limit` (1...1000) records from `offset` on. When `offset` is
    /// older than retention the batch says `gap` and starts at `firstOffset`.
    public func read(from offset: UInt64, limit: Int = 100) async throws(PluginError) -> LogBatch {
        let storage = storage
        return try await OneShot<LogBatch>.wait { waiter throws(PluginError) in
            guard let function = storage.table.pointee.log_read else {
                throw StorageErrors.missing("log_read")
            }
            function(storage.handle, namespace, name, offset, UInt32(clamping: max(0, limit)), { userData, status, message, batch in
                OneShot<LogBatch>.take(userData).finish(status, message, LogBatch(batch!.pointee))
            }, waiter.retained)
        }
    }

    /// Removes all but the newest `count` records.
    @discardableResult
    public func trim(keepingLast count: UInt64) async throws(PluginError) -> TrimResult {
        try await trim(keepLast: count, beforeMilliseconds: 0)
    }

    /// Removes the records appended more than `age` ago.
    @discardableResult
    public func trim(olderThan age: Duration) async throws(PluginError) -> TrimResult {
        let cutoff = Date().addingTimeInterval(-Double(age.milliseconds) / 1_000)
        // UInt64.max is KN_STORAGE_KEEP_ALL: no count bound.
        return try await trim(keepLast: UInt64.max, beforeMilliseconds: Int64(cutoff.timeIntervalSince1970 * 1_000))
    }

    private func trim(keepLast: UInt64, beforeMilliseconds: Int64) async throws(PluginError) -> TrimResult {
        let storage = storage
        return try await OneShot<TrimResult>.wait { waiter throws(PluginError) in
            guard let function = storage.table.pointee.log_trim else {
                throw StorageErrors.missing("log_trim")
            }
            function(storage.handle, namespace, name, keepLast, beforeMilliseconds, { userData, status, message, first, removed in
                OneShot<TrimResult>.take(userData).finish(status, message, TrimResult(firstOffset: first, removed: removed))
            }, waiter.retained)
        }
    }
}

/// One record of a log stream (a copy).
///
/// ```swift
/// for record in batch.records { print(record.offset, record.appendedAt, record.string) }
/// ```
public struct LogRecord: Sendable, Equatable {
    public let offset: UInt64
    public let appendedAt: Date
    public let payload: [UInt8]
    public var string: String { String(decoding: payload, as: UTF8.self) }
    public func decode<T: Decodable>(_ type: T.Type) throws(PluginError) -> T {
        try JSON.decode(T.self, from: payload, what: "log record", code: .internal)
    }
}

/// Records read from a stream, and where to read next.
///
/// ```swift
/// var next: UInt64 = 0
/// let batch = try await log.read(from: next)
/// if batch.gap { print("records before \(batch.firstOffset) were trimmed") }
/// next = batch.nextOffset
/// ```
public struct LogBatch: Sendable {
    public let records: [LogRecord]
    /// The oldest offset still retained.
    public let firstOffset: UInt64
    /// The offset the next append gets: read from here to follow the stream.
    public let nextOffset: UInt64
    /// The reader asked for trimmed offsets: records between its cursor and
    /// `firstOffset` are gone.
    public let gap: Bool

    init(_ batch: kn_storage_batch) {
        records = (0..<batch.count).map { index in
            let record = batch.records[index]
            return LogRecord(offset: record.offset, appendedAt: Date(timeIntervalSince1970: Double(record.appended_at_ms) / 1_000),
                             payload: record.payload.copiedBytes)
        }
        firstOffset = batch.first_offset
        nextOffset = batch.next_offset
        gap = batch.gap
    }
}

/// What a trim removed.
///
/// ```swift
/// let trimmed = try await log.trim(olderThan: .seconds(7 * 86_400))
/// print("removed \(trimmed.removed), oldest now \(trimmed.firstOffset)")
/// ```
public struct TrimResult: Sendable, Equatable {
    /// The oldest offset retained after the trim.
    public let firstOffset: UInt64
    public let removed: UInt64
}
