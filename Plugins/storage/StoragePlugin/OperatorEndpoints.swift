import Foundation
import KernelSDK
import StorageEngine

/// Endpoints for operators (`kernelctl storage`, `kv`, `log`), reachable
/// through the admin socket only: they address any namespace, so a call
/// arriving over HTTP or from another plugin is refused.
enum OperatorEndpoints {
    static func register(with kernel: PluginContext, service: StorageService) {
        let backend = service.backend
        kernel.endpoint("storage.status", description: "Backend, size, keys per namespace, log streams (admin)") {
            (_: Empty, request) async throws -> StatusView in
            try request.requireOperator()
            return StatusView(try await run { try await backend.status() }, openTransactions: service.openTransactions)
        }
        kernel.endpoint("storage.kv.get", description: "One key of a namespace (admin)") {
            (body: KeyRequest, request) async throws -> EntryView in
            try request.requireOperator()
            let key = try body.checkedKey()
            guard let entry = try await run({ try await backend.kvGet(namespace: try body.checkedNamespace(), key: key) }) else {
                throw PluginError.notFound("no key '\(body.key)' in namespace '\(body.namespace)'")
            }
            return EntryView(entry, namespace: body.namespace)
        }
        kernel.endpoint("storage.kv.put", description: "Writes one key of a namespace (admin)") {
            (body: PutRequest, request) async throws -> EntryView in
            try request.requireOperator()
            let key = try KeyRequest(namespace: body.namespace, key: body.key).checkedKey()
            let value = Array(body.value.utf8)
            let entry = try await run {
                try Limits.checkValue(value)
                return try await backend.kvPut(namespace: try KeyRequest(namespace: body.namespace, key: body.key).checkedNamespace(),
                                               key: key, value: value, ttlMilliseconds: body.ttl_ms ?? 0)
            }
            return EntryView(entry, namespace: body.namespace)
        }
        kernel.endpoint("storage.kv.delete", description: "Deletes one key of a namespace (admin)") {
            (body: KeyRequest, request) async throws -> DeleteView in
            try request.requireOperator()
            let key = try body.checkedKey()
            let entry = try await run { try await backend.kvDelete(namespace: try body.checkedNamespace(), key: key) }
            return DeleteView(namespace: body.namespace, key: body.key, deleted: entry != nil, version: entry?.version)
        }
        kernel.endpoint("storage.kv.scan", description: "Keys of a namespace by prefix, a page at a time (admin)") {
            (body: ScanRequest, request) async throws -> PageView in
            try request.requireOperator()
            let page = try await run {
                try Namespaces.checkName(body.namespace)
                return try await backend.kvScan(namespace: body.namespace, prefix: Array((body.prefix ?? "").utf8),
                                                after: Array((body.cursor ?? "").utf8),
                                                limit: try Limits.pageSize(UInt32(clamping: body.limit ?? 100)))
            }
            return PageView(namespace: body.namespace, entries: page.entries.map { EntryView($0, namespace: body.namespace) },
                            next_cursor: page.nextCursor.isEmpty ? nil : String(decoding: page.nextCursor, as: UTF8.self))
        }
        kernel.endpoint("storage.log.read", description: "Records of a log stream from an offset (admin)") {
            (body: ReadRequest, request) async throws -> BatchView in
            try request.requireOperator()
            let batch = try await run {
                try Namespaces.checkName(body.namespace)
                try Limits.checkStream(body.stream)
                return try await backend.logRead(namespace: body.namespace, stream: body.stream, from: body.from ?? 0,
                                                 limit: try Limits.pageSize(UInt32(clamping: body.limit ?? 100)))
            }
            return BatchView(batch, namespace: body.namespace, stream: body.stream)
        }
    }


    /// Storage errors as the plugin errors the kernel maps to statuses.
    static func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StorageError {
            throw PluginError(PluginError.Code(status: error.code.status), error.message)
        }
    }
}
