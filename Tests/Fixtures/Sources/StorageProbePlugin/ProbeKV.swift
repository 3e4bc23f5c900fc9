import Foundation
import KernelSDK
import Synchronization

enum ProbeKV {
    struct KeyBody: Codable, Sendable {
        var namespace: String?
        var key: String
        var value: String?
        /// A value of this many bytes instead of `value` (limits without huge HTTP bodies).
        var size: Int?
        var ttl_ms: UInt64?
        var expected_version: UInt64?
        var bytes: [UInt8] { size.map { [UInt8](repeating: 0x61, count: $0) } ?? Array((value ?? "").utf8) }
        var ttl: Duration? { ttl_ms.map { .milliseconds($0) } }
    }

    struct EntryBody: Codable, Sendable {
        var found: Bool
        var key: String?
        var value: String?
        var version: UInt64?
        var expires_at_ms: Int64?
        init(_ value: StoredValue?) {
            found = value != nil
            key = value?.key
            self.value = value?.string
            version = value?.version
            expires_at_ms = value?.expiresAt.map { Int64($0.timeIntervalSince1970 * 1_000) }
        }
    }

    struct ScanBody: Codable, Sendable {
        var namespace: String?
        var prefix: String?
        var cursor: String?
        var limit: Int?
    }

    struct PageBody: Codable, Sendable {
        var keys: [String]
        var values: [String]
        var next_cursor: String?
    }

    struct RaceBody: Codable, Sendable {
        var key: String
        var tasks: Int
        var rounds: Int
    }

    struct RaceResult: Codable, Sendable {
        var wins: Int
        var conflicts: Int
        var final_value: Int
        /// Expected versions that more than one task won with: must be empty.
        var versions_won_twice: [UInt64]
    }

    static func register(_ kernel: PluginContext, _ storage: Storage) {
        @Sendable func store(_ namespace: String?) -> KeyValueStore { namespace.map { storage.kv(namespace: $0) } ?? storage.kv }

        kernel.endpoint("probe.kv.put") { (body: KeyBody, _) async throws in
            EntryBody(try await store(body.namespace).put(body.key, body.bytes, ttl: body.ttl))
        }
        kernel.endpoint("probe.kv.get") { (body: KeyBody, _) async throws in
            EntryBody(try await store(body.namespace).get(body.key))
        }
        kernel.endpoint("probe.kv.delete") { (body: KeyBody, _) async throws in
            ["deleted": try await store(body.namespace).delete(body.key)]
        }
        kernel.endpoint("probe.kv.cas") { (body: KeyBody, _) async throws in
            EntryBody(try await store(body.namespace).compareAndSet(body.key, expectedVersion: body.expected_version ?? 0,
                                                                    body.bytes, ttl: body.ttl))
        }
        kernel.endpoint("probe.kv.scan") { (body: ScanBody, _) async throws in
            let page = try await store(body.namespace).scan(prefix: body.prefix ?? "", cursor: body.cursor, limit: body.limit ?? 100)
            return PageBody(keys: page.entries.map(\.key), values: page.entries.map(\.string), next_cursor: page.nextCursor)
        }
        // Many tasks increment one counter with compare-and-set, retrying on conflict.
        kernel.endpoint("probe.kv.race") { (body: RaceBody, _) async throws in
            let kv = storage.kv
            try await kv.put(body.key, "0")
            let tally = Tally()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<body.tasks {
                    group.addTask {
                        var done = 0
                        while done < body.rounds {
                            let current = try await kv.require(body.key)
                            let next = String((Int(current.string) ?? 0) + 1)
                            do {
                                try await kv.compareAndSet(body.key, expectedVersion: current.version, next)
                                tally.won.withLock { $0[current.version, default: 0] += 1 }
                                done += 1
                            } catch let error as PluginError where error.code == .conflict {
                                tally.conflicts.add(1, ordering: .relaxed)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let final = Int(try await kv.require(body.key).string) ?? -1
            let wins = tally.won.withLock { $0 }
            return RaceResult(wins: wins.values.reduce(0, +), conflicts: tally.conflicts.load(ordering: .relaxed), final_value: final,
                              versions_won_twice: wins.filter { $0.value > 1 }.map(\.key).sorted())
        }
    }
}

/// Who won which version, shared by the racing tasks.
final class Tally: Sendable {
    let won = Mutex<[UInt64: Int]>([:])
    let conflicts = Atomic<Int>(0)
}
