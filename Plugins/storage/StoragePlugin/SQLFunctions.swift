import CKernelABI
import KernelSDK
import StorageEngine

/// The SQL functions of the service table.
enum SQLFunctions {
    typealias Done = Reply<kn_storage_done_fn>

    static let begin: @convention(c) (OpaquePointer?, kn_storage_tx_fn?, UnsafeMutableRawPointer?) -> Void = { plugin, done, userData in
        if let next = Forwarding.successor(for: plugin) { return next.pointee.sql_begin!(plugin, done, userData) }
        let reply = Reply(callback: done, userData: userData)
        perform({ runtime, caller in try await runtime.service.sqlBegin(caller: caller) }, plugin: plugin,
                deliver: { handle in reply.callback?(reply.userData, KN_OK, "", handle) },
                fail: { status, message in reply.callback?(reply.userData, status, message, 0) })
    }

    static let run: @convention(c) (OpaquePointer?, kn_storage_tx, UnsafePointer<CChar>?, UnsafePointer<kn_storage_value>?, Int,
                                    kn_storage_rows_fn?, UnsafeMutableRawPointer?) -> Void = {
        plugin, handle, sql, params, count, done, userData in
        if let next = Forwarding.successor(for: plugin) { return next.pointee.sql_run!(plugin, handle, sql, params, count, done, userData) }
        let reply = Reply(callback: done, userData: userData)
        let fail: @Sendable (kn_status, String) -> Void = { status, message in reply.callback?(reply.userData, status, message, nil) }
        guard let sql = string(sql) else {
            fail(KN_ERR_INVALID_ARGUMENT, "SQL text is required")
            return
        }
        let parameters: [StorageEngine.SQLValue]
        do {
            parameters = try values(params, count)
        } catch {
            fail(KN_ERR_INVALID_ARGUMENT, StorageError.wrap(error).message)
            return
        }
        perform({ runtime, caller in
            try await runtime.service.sqlRun(caller: caller, transaction: handle, sql: sql, parameters: parameters)
        }, plugin: plugin, deliver: { result in deliver(reply, result) }, fail: fail)
    }

    static let commit: @convention(c) (OpaquePointer?, kn_storage_tx, kn_storage_done_fn?, UnsafeMutableRawPointer?) -> Void = {
        plugin, handle, done, userData in
        if let next = Forwarding.successor(for: plugin) { return next.pointee.sql_commit!(plugin, handle, done, userData) }
        let reply = Done(callback: done, userData: userData)
        perform({ runtime, caller in try await runtime.service.sqlCommit(caller: caller, transaction: handle) }, plugin: plugin,
                deliver: { reply.callback?(reply.userData, KN_OK, "") },
                fail: { status, message in reply.callback?(reply.userData, status, message) })
    }

    static let rollback: @convention(c) (OpaquePointer?, kn_storage_tx, kn_storage_done_fn?, UnsafeMutableRawPointer?) -> Void = {
        plugin, handle, done, userData in
        if let next = Forwarding.successor(for: plugin) { return next.pointee.sql_rollback!(plugin, handle, done, userData) }
        let reply = Done(callback: done, userData: userData)
        perform({ runtime, caller in try await runtime.service.sqlRollback(caller: caller, transaction: handle) }, plugin: plugin,
                deliver: { reply.callback?(reply.userData, KN_OK, "") },
                fail: { status, message in reply.callback?(reply.userData, status, message) })
    }

    static let migrate: @convention(c) (OpaquePointer?, UnsafePointer<kn_storage_migration>?, Int, kn_storage_done_fn?,
                                        UnsafeMutableRawPointer?) -> Void = { plugin, list, count, done, userData in
        if let next = Forwarding.successor(for: plugin) { return next.pointee.sql_migrate!(plugin, list, count, done, userData) }
        let reply = Done(callback: done, userData: userData)
        var migrations: [StorageEngine.Migration] = []
        for index in 0..<(list == nil ? 0 : count) {
            let item = list![index]
            guard let sql = item.sql else {
                reply.callback?(reply.userData, KN_ERR_INVALID_ARGUMENT, "migration \(item.version) has no SQL")
                return
            }
            migrations.append(Migration(version: item.version, sql: String(cString: sql)))
        }
        let all = migrations
        perform({ runtime, caller in try await runtime.service.sqlMigrate(caller: caller, migrations: all) }, plugin: plugin,
                deliver: { _ in reply.callback?(reply.userData, KN_OK, "") },
                fail: { status, message in reply.callback?(reply.userData, status, message) })
    }

    /// Parameters copied out of the caller's array.
    static func values(_ params: UnsafePointer<kn_storage_value>?, _ count: Int) throws -> [StorageEngine.SQLValue] {
        guard count > 0 else { return [] }
        guard let params else { throw StorageError.invalidArgument("\(count) parameters announced but none given") }
        return try (0..<count).map { index in
            let value = params[index]
            switch Int32(value.type) {
            case KN_STORAGE_NULL: return .null
            case KN_STORAGE_INTEGER: return .integer(value.integer)
            case KN_STORAGE_REAL: return .real(value.real)
            case KN_STORAGE_BOOL: return .bool(value.integer != 0)
            case KN_STORAGE_TEXT: return .text(String(decoding: value.bytes.array, as: UTF8.self))
            case KN_STORAGE_BLOB: return .blob(value.bytes.array)
            default: throw StorageError.invalidArgument("parameter $\(index + 1) has unknown type \(value.type)")
            }
        }
    }

    static func deliver(_ reply: Reply<kn_storage_rows_fn>, _ result: SQLResult) {
        guard let done = reply.callback else { return }
        var size = result.columns.reduce(0) { $0 + $1.utf8.count }
        for row in result.rows {
            for cell in row {
                switch cell {
                case .text(let text): size += text.utf8.count
                case .blob(let bytes): size += bytes.count
                default: break
                }
            }
        }
        let arena = Arena(capacity: size)
        let columns = result.columns.map { arena.bytes($0) }
        var cells: [kn_storage_value] = []
        cells.reserveCapacity(result.rows.count * result.columns.count)
        for row in result.rows {
            for cell in row { cells.append(cValue(cell, arena)) }
        }
        columns.withUnsafeBufferPointer { names in
            cells.withUnsafeBufferPointer { values in
                var rows = kn_storage_rows(struct_size: UInt32(MemoryLayout<kn_storage_rows>.size),
                                           column_count: names.count, columns: names.baseAddress,
                                           row_count: result.rows.count, values: values.baseAddress,
                                           rows_affected: result.rowsAffected)
                done(reply.userData, KN_OK, "", &rows)
            }
        }
        withExtendedLifetime(arena) {}
    }

    static func cValue(_ value: StorageEngine.SQLValue, _ arena: Arena) -> kn_storage_value {
        var cell = kn_storage_value()
        switch value {
        case .null: cell.type = UInt32(KN_STORAGE_NULL)
        case .integer(let number):
            cell.type = UInt32(KN_STORAGE_INTEGER)
            cell.integer = number
        case .bool(let flag):
            cell.type = UInt32(KN_STORAGE_BOOL)
            cell.integer = flag ? 1 : 0
        case .real(let number):
            cell.type = UInt32(KN_STORAGE_REAL)
            cell.real = number
        case .text(let text):
            cell.type = UInt32(KN_STORAGE_TEXT)
            cell.bytes = arena.bytes(text)
        case .blob(let bytes):
            cell.type = UInt32(KN_STORAGE_BLOB)
            cell.bytes = arena.bytes(bytes)
        }
        return cell
    }
}
