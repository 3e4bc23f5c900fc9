import Foundation

/// An error response of the admin protocol.
struct AdminError: Error, CustomStringConvertible, @unchecked Sendable {
    var code: String
    var message: String
    var details: [String: Any]
    var description: String { "admin error \(code): \(message)" }
}

/// A client of the kernel's admin protocol (Protocols/admin-protocol.md):
/// newline-delimited JSON over the Unix socket, one answer per request, in order.
final class AdminClient {
    private let socket: BlockingSocket
    private var buffer: [UInt8] = []
    private var nextID = 1

    init(path: String, timeout: TimeInterval = 15) throws {
        socket = try BlockingSocket.unix(path: path, timeout: timeout)
    }

    /// Sends one request and returns the whole response object.
    func request(_ op: String, _ args: [String: Any]? = nil) throws -> [String: Any] {
        let id = nextID
        nextID += 1
        var object: [String: Any] = ["id": id, "op": op]
        if let args { object["args"] = args }
        var line = [UInt8](try JSONSerialization.data(withJSONObject: object))
        line.append(UInt8(ascii: "\n"))
        try sendLine(line)
        let response = try readLine()
        guard let decoded = try JSONSerialization.jsonObject(with: Data(response)) as? [String: Any] else {
            throw SetupError("admin response is not a JSON object: \(String(decoding: response, as: UTF8.self))")
        }
        if let echoed = decoded["id"] as? Int, echoed != id {
            throw SetupError("admin response id \(echoed) does not match request id \(id)")
        }
        return decoded
    }

    /// Sends raw bytes as a request line (for malformed-request checks).
    func sendLine(_ bytes: [UInt8]) throws { try socket.sendAll(bytes) }

    /// Reads one response line (without the newline).
    func readLine() throws -> [UInt8] {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            guard let chunk = try socket.receive() else { throw SetupError("admin socket closed by the kernel") }
            buffer += chunk
        }
    }

    /// Sends one request and returns its `result`, or throws AdminError.
    func result(_ op: String, _ args: [String: Any]? = nil) throws -> [String: Any] {
        let response = try request(op, args)
        if response["ok"] as? Bool == true {
            return response["result"] as? [String: Any] ?? [:]
        }
        let error = response["error"] as? [String: Any] ?? [:]
        throw AdminError(code: error["code"] as? String ?? "?", message: error["message"] as? String ?? "",
                         details: error["details"] as? [String: Any] ?? [:])
    }

    /// One request on a fresh connection.
    static func result(socket path: String, _ op: String, _ args: [String: Any]? = nil) throws -> [String: Any] {
        try AdminClient(path: path).result(op, args)
    }
}

/// Readers of `list` results.
extension Dictionary where Key == String, Value == Any {
    var plugins: [[String: Any]] { self["plugins"] as? [[String: Any]] ?? [] }
    var rejected: [[String: Any]] { self["rejected"] as? [[String: Any]] ?? [] }
    func plugin(named name: String) -> [String: Any]? { plugins.first { $0["name"] as? String == name } }
    func rejection(forFile fileName: String) -> [String: Any]? {
        rejected.first { ($0["path"] as? String).map { URL(fileURLWithPath: $0).lastPathComponent == fileName } ?? false }
    }
}
