import Foundation
import KernelSDK

/// A SQL value as JSON: null, true, 12, 1.5, "text", {"blob": "<base64>"}.
struct JSONSQLValue: Codable, Sendable {
    var value: SQLValue

    init(_ value: SQLValue) { self.value = value }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { value = .null }
        else if let flag = try? container.decode(Bool.self) { value = .bool(flag) }
        else if let number = try? container.decode(Int64.self) { value = .integer(number) }
        else if let number = try? container.decode(Double.self) { value = .real(number) }
        else if let text = try? container.decode(String.self) { value = .text(text) }
        else {
            let blob = try container.decode([String: String].self)
            value = .blob(Array(Data(base64Encoded: blob["blob"] ?? "") ?? Data()))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch value {
        case .null: try container.encodeNil()
        case .bool(let flag): try container.encode(flag)
        case .integer(let number): try container.encode(number)
        case .real(let number): try container.encode(number)
        case .text(let text): try container.encode(text)
        case .blob(let bytes): try container.encode(["blob": Data(bytes).base64EncodedString()])
        }
    }
}

enum ProbeSQL {
    struct Statement: Codable, Sendable {
        var sql: String
        var params: [JSONSQLValue]?
        var parameters: [SQLValue] { (params ?? []).map(\.value) }
    }

    struct RowsBody: Codable, Sendable {
        var columns: [String]
        var rows: [[JSONSQLValue]]
        var rows_affected: UInt64
        init(_ rows: SQLRows) {
            columns = rows.columns
            self.rows = rows.rows.map { $0.values.map(JSONSQLValue.init) }
            rows_affected = rows.rowsAffected
        }
    }

    struct TransactionBody: Codable, Sendable {
        var statements: [Statement]
        /// Throw before running this statement (0-based): the caller fails mid-way.
        var fail_at: Int?
    }

    struct MigrateBody: Codable, Sendable {
        struct Step: Codable, Sendable {
            var version: Int64
            var sql: String
        }
        var migrations: [Step]
    }

    static func register(_ kernel: PluginContext, _ storage: Storage) {
        kernel.endpoint("probe.sql") { (body: Statement, _) async throws in
            RowsBody(try await storage.sql.query(body.sql, body.parameters))
        }
        kernel.endpoint("probe.sql.tx") { (body: TransactionBody, _) async throws in
            try await storage.sql.transaction { tx in
                var last: RowsBody?
                for (index, statement) in body.statements.enumerated() {
                    if index == body.fail_at { throw PluginError.internal("failing on purpose before statement \(index)") }
                    last = RowsBody(try await tx.query(statement.sql, statement.parameters))
                }
                return last
            }
        }
        // A transaction whose handle escapes the closure, then is used: closed.
        kernel.endpoint("probe.sql.closed") { (_: Empty, _) async throws -> [String: String] in
            let escaped = try await storage.sql.transaction { tx in tx }
            do {
                _ = try await escaped.query("SELECT 1")
                return ["code": "ok"]
            } catch let error as PluginError {
                return ["code": error.code.rawValue, "message": error.message]
            }
        }
        // Begins a transaction, runs statements, then never ends it, as a
        // plugin hung mid-way would: the service must roll it back by itself.
        kernel.endpoint("probe.sql.abandon") { (body: TransactionBody, _) async throws -> Empty in
            let started = AsyncStream<Result<Void, PluginError>>.makeStream()
            Task {
                try? await storage.sql.transaction { tx in
                    do {
                        for statement in body.statements { try await tx.execute(statement.sql) }
                        started.continuation.yield(.success(()))
                    } catch {
                        started.continuation.yield(.failure(PluginError(error)))
                        return
                    }
                    try await Task.sleep(for: .seconds(86_400))
                }
            }
            var results = started.stream.makeAsyncIterator()
            try await results.next()?.get()
            return Empty()
        }
        kernel.endpoint("probe.sql.migrate") { (body: MigrateBody, _) async throws in
            try await storage.sql.migrate(body.migrations.map { Migration($0.version, $0.sql) })
            return Empty()
        }
    }
}
