import Foundation
import KernelSDK

enum ProbeLog {
    struct AppendBody: Codable, Sendable {
        var namespace: String?
        var stream: String
        var payload: String?
        var size: Int?
        var count: Int?
    }

    struct ReadBody: Codable, Sendable {
        var namespace: String?
        var stream: String
        var from: UInt64
        var limit: Int?
    }

    struct BatchBody: Codable, Sendable {
        struct Record: Codable, Sendable {
            var offset: UInt64
            var payload: String
        }
        var records: [Record]
        var first_offset: UInt64
        var next_offset: UInt64
        var gap: Bool
    }

    struct TrimBody: Codable, Sendable {
        var namespace: String?
        var stream: String
        var keep_last: UInt64?
        var older_than_ms: UInt64?
    }

    static func register(_ kernel: PluginContext, _ storage: Storage) {
        kernel.endpoint("probe.log.append") { (body: AppendBody, _) async throws in
            let stream = storage.log(body.stream, namespace: body.namespace)
            let payload = body.size.map { [UInt8](repeating: 0x62, count: $0) } ?? Array((body.payload ?? "").utf8)
            var offsets: [UInt64] = []
            for index in 0..<(body.count ?? 1) {
                offsets.append(try await stream.append(body.count == nil ? payload : Array("\(body.payload ?? "")\(index)".utf8)))
            }
            return ["offsets": offsets]
        }
        kernel.endpoint("probe.log.read") { (body: ReadBody, _) async throws in
            let batch = try await storage.log(body.stream, namespace: body.namespace).read(from: body.from, limit: body.limit ?? 100)
            return BatchBody(records: batch.records.map { .init(offset: $0.offset, payload: $0.string) },
                             first_offset: batch.firstOffset, next_offset: batch.nextOffset, gap: batch.gap)
        }
        kernel.endpoint("probe.log.trim") { (body: TrimBody, _) async throws in
            let stream = storage.log(body.stream, namespace: body.namespace)
            let result = if let age = body.older_than_ms {
                try await stream.trim(olderThan: .milliseconds(age))
            } else {
                try await stream.trim(keepingLast: body.keep_last ?? UInt64.max)
            }
            return ["first_offset": result.firstOffset, "removed": result.removed]
        }
    }
}
