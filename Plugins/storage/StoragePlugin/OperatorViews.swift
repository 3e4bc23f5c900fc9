import Foundation
import KernelSDK
import StorageEngine

// Requests and answers of the operator endpoints (Protocols/storage-service.md).
// Field names are snake_case, as in the rest of the admin protocol.

struct KeyRequest: Decodable, Sendable {
    var namespace: String
    var key: String

    func checkedNamespace() throws -> String {
        try Namespaces.checkName(namespace)
        return namespace
    }

    func checkedKey() throws -> [UInt8] {
        let bytes = Array(key.utf8)
        do {
            try Limits.checkKey(bytes)
        } catch let error as StorageError {
            throw PluginError(PluginError.Code(status: error.code.status), error.message)
        }
        return bytes
    }
}

struct PutRequest: Decodable, Sendable {
    var namespace: String
    var key: String
    var value: String
    var ttl_ms: UInt64?
}

struct ScanRequest: Decodable, Sendable {
    var namespace: String
    var prefix: String?
    var cursor: String?
    var limit: Int?
}

struct ReadRequest: Decodable, Sendable {
    var namespace: String
    var stream: String
    var from: UInt64?
    var limit: Int?
}

/// Bytes as text when they are UTF-8, else base64 (so a binary value is never garbled).
struct BytesView: Encodable, Sendable {
    let bytes: [UInt8]
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let text = String(validating: bytes, as: UTF8.self) {
            try container.encode(text)
        } else {
            try container.encode(["base64": Data(bytes).base64EncodedString()])
        }
    }
}

struct EntryView: Encodable, Sendable {
    var namespace: String
    var key: String
    var value: BytesView
    var version: UInt64
    var expires_at_ms: Int64?

    init(_ entry: KVEntry, namespace: String) {
        self.namespace = namespace
        key = String(decoding: entry.key, as: UTF8.self)
        value = BytesView(bytes: entry.value)
        version = entry.version
        expires_at_ms = entry.expiresAtMilliseconds == 0 ? nil : entry.expiresAtMilliseconds
    }
}

struct DeleteView: Encodable, Sendable {
    var namespace: String
    var key: String
    var deleted: Bool
    var version: UInt64?
}

struct PageView: Encodable, Sendable {
    var namespace: String
    var entries: [EntryView]
    var next_cursor: String?
}

struct BatchView: Encodable, Sendable {
    struct Record: Encodable, Sendable {
        var offset: UInt64
        var appended_at_ms: Int64
        var payload: BytesView
    }
    var namespace: String
    var stream: String
    var records: [Record]
    var first_offset: UInt64
    var next_offset: UInt64
    var gap: Bool

    init(_ batch: StorageEngine.LogBatch, namespace: String, stream: String) {
        self.namespace = namespace
        self.stream = stream
        records = batch.records.map { Record(offset: $0.offset, appended_at_ms: $0.appendedAtMilliseconds, payload: BytesView(bytes: $0.payload)) }
        first_offset = batch.firstOffset
        next_offset = batch.nextOffset
        gap = batch.gap
    }
}

struct StatusView: Encodable, Sendable {
    struct Namespace: Encodable, Sendable {
        var name: String
        var keys: Int64
    }
    struct Stream: Encodable, Sendable {
        var namespace: String
        var name: String
        var first_offset: UInt64
        var next_offset: UInt64
        var records: UInt64
    }
    var backend: String
    var location: String
    /// "ready", or "connecting (attempt N): <why>" while the database is out of reach.
    var state: String
    var size_bytes: Int64
    var namespaces: [Namespace]
    var streams: [Stream]
    var sql_spaces: [String]
    var open_transactions: Int

    init(_ status: StorageStatus, openTransactions: Int) {
        backend = status.backend
        location = status.location
        state = status.connection
        size_bytes = status.sizeBytes
        namespaces = status.namespaces.map { Namespace(name: $0.name, keys: $0.keys) }
        streams = status.streams.map {
            Stream(namespace: $0.namespace, name: $0.name, first_offset: $0.firstOffset, next_offset: $0.nextOffset,
                   records: $0.nextOffset - $0.firstOffset)
        }
        sql_spaces = status.sqlSpaces
        open_transactions = openTransactions
    }
}
