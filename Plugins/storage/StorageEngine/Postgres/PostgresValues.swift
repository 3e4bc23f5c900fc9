import Foundation
import NIOCore
import PostgresNIO

/// Typed values to and from PostgreSQL's binary format.
enum PostgresValues {
    static func bindings(_ values: [SQLValue]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let number): bindings.append(number)
            case .real(let number): bindings.append(number)
            case .text(let text): bindings.append(text)
            case .blob(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            case .bool(let flag): bindings.append(flag)
            }
        }
        return bindings
    }

    static func result(_ result: PostgresQueryResult) throws -> SQLResult {
        var columns: [String] = []
        var rows: [[SQLValue]] = []
        rows.reserveCapacity(result.rows.count)
        for row in result.rows {
            var cells: [SQLValue] = []
            for cell in row {
                if rows.isEmpty { columns.append(cell.columnName) }
                cells.append(try value(cell))
            }
            rows.append(cells)
        }
        let affected = result.rows.isEmpty || result.metadata.command != "SELECT" ? UInt64(result.metadata.rows ?? 0) : 0
        return SQLResult(columns: columns, rows: rows, rowsAffected: affected)
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard var bytes = cell.bytes else { return .null }
        switch cell.dataType {
        case .bool: return .bool(try cell.decode(Bool.self))
        case .int2, .int4, .int8, .oid: return .integer(try cell.decode(Int64.self))
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .bytea: return .blob(bytes.readBytes(length: bytes.readableBytes) ?? [])
        case .uuid: return .text(try cell.decode(UUID.self).uuidString.lowercased())
        case .timestamp, .timestamptz, .date:
            return .text(ISO8601DateFormatter().string(from: try cell.decode(Date.self)))
        case .numeric: return .text(try cell.decode(Decimal.self).description)
        case .jsonb:
            // Binary jsonb starts with a version byte.
            if cell.format == .binary { bytes.moveReaderIndex(forwardBy: 1) }
            return .text(bytes.readString(length: bytes.readableBytes) ?? "")
        default:
            if cell.format == .text || [.text, .varchar, .name, .bpchar, .json].contains(cell.dataType) {
                return .text(bytes.readString(length: bytes.readableBytes) ?? "")
            }
            return .text((try? cell.decode(String.self)) ?? "")
        }
    }
}
