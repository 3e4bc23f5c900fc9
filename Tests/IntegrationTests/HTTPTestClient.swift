import Foundation

/// One parsed HTTP/1.1 response.
struct HTTPResponse {
    var status: Int
    var reason: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    /// The first header of that name (case-insensitive).
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
    /// `error.code` of a JSON error body.
    var errorCode: String? { (json?["error"] as? [String: Any])?["code"] as? String }
    var summary: String { "HTTP \(status) \(text.prefix(300))" }
}

/// An HTTP/1.1 client over a raw TCP socket: sends arbitrary bytes, parses
/// responses (Content-Length, chunked, or until close), in order, so a test
/// can pipeline, keep a connection alive or send a malformed request.
final class HTTPConnection {
    private let socket: BlockingSocket
    private var buffer: [UInt8] = []
    private(set) var peerClosed = false
    let port: Int

    init(port: Int, host: String = "127.0.0.1", timeout: TimeInterval = 15, receiveBuffer: Int? = nil) throws {
        self.port = port
        socket = try BlockingSocket.tcp(host: host, port: port, timeout: timeout, receiveBuffer: receiveBuffer)
    }

    func send(_ bytes: [UInt8]) throws { try socket.sendAll(bytes) }
    func send(_ text: String) throws { try socket.sendAll(Array(text.utf8)) }

    /// Writes one request. `body` sets Content-Length unless headers carry
    /// Transfer-Encoding or Content-Length already.
    func sendRequest(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws {
        try send(Self.encode(method, path, headers: headers, body: body))
    }

    static func encode(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let names = Set(headers.map { $0.0.lowercased() })
        if let body, !names.contains("content-length"), !names.contains("transfer-encoding") {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + (body ?? [])
    }

    /// Sends a request and reads its response.
    func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws -> HTTPResponse {
        try sendRequest(method, path, headers: headers, body: body)
        return try readResponse()
    }

    /// POST /api/<endpoint> with a JSON body.
    func call(_ endpoint: String, _ json: String = "{}", headers: [(String, String)] = []) throws -> HTTPResponse {
        try request("POST", "/api/\(endpoint)", headers: [("Content-Type", "application/json")] + headers, body: Array(json.utf8))
    }

    /// Reads a streamed response's head; its body comes with `readChunk`.
    func readStreamHead() throws -> HTTPResponse {
        try readOneResponse(forHEAD: true)
    }

    /// The next chunk of a chunked body; nil after the last one.
    func readChunk() throws -> [UInt8]? {
        let lineEnd = try readUntil(Array("\r\n".utf8))
        let sizeLine = String(decoding: buffer[..<lineEnd], as: UTF8.self)
        buffer.removeSubrange(..<(lineEnd + 2))
        guard let size = Int(sizeLine.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "", radix: 16) else {
            throw SetupError("bad chunk size line: \(sizeLine)")
        }
        if size == 0 {
            let end = try readUntil(Array("\r\n".utf8))
            buffer.removeSubrange(..<(end + 2))
            return nil
        }
        try fill(size + 2)
        defer { buffer.removeSubrange(..<(size + 2)) }
        return Array(buffer[..<size])
    }

    /// Reads the next response (skipping 1xx interim responses).
    func readResponse(forHEAD: Bool = false) throws -> HTTPResponse {
        while true {
            let response = try readOneResponse(forHEAD: forHEAD)
            if response.status >= 200 || response.status == 101 { return response }
        }
    }

    private func readOneResponse(forHEAD: Bool) throws -> HTTPResponse {
        let headEnd = try readUntil(Array("\r\n\r\n".utf8))
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        buffer.removeSubrange(..<(headEnd + 4))
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw SetupError("malformed status line: \(statusLine)")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw SetupError("malformed header line: \(line)") }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var response = HTTPResponse(status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers, body: [])
        if forHEAD || status < 200 || status == 204 || status == 304 { return response }
        if response.header("transfer-encoding")?.lowercased().contains("chunked") == true {
            response.body = try readChunkedBody()
        } else if let lengthText = response.header("content-length") {
            guard let length = Int(lengthText) else { throw SetupError("bad Content-Length: \(lengthText)") }
            try fill(length)
            response.body = Array(buffer[..<length])
            buffer.removeSubrange(..<length)
        } else {
            // No length: the body runs to the end of the connection.
            while !peerClosed { try receiveMore(allowEOF: true) }
            response.body = buffer
            buffer.removeAll()
        }
        return response
    }

    private func readChunkedBody() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let lineEnd = try readUntil(Array("\r\n".utf8))
            let sizeLine = String(decoding: buffer[..<lineEnd], as: UTF8.self)
            buffer.removeSubrange(..<(lineEnd + 2))
            let sizeText = sizeLine.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(sizeText, radix: 16) else { throw SetupError("bad chunk size line: \(sizeLine)") }
            if size == 0 {
                // Trailers, up to an empty line.
                while true {
                    let end = try readUntil(Array("\r\n".utf8))
                    buffer.removeSubrange(..<(end + 2))
                    if end == 0 { return body }
                }
            }
            try fill(size + 2)
            body += buffer[..<size]
            buffer.removeSubrange(..<(size + 2))
        }
    }

    /// Index of `marker` in the buffer, reading until it arrives.
    private func readUntil(_ marker: [UInt8]) throws -> Int {
        var searchFrom = 0
        while true {
            if buffer.count >= marker.count {
                var i = searchFrom
                while i + marker.count <= buffer.count {
                    if buffer[i] == marker[0] && Array(buffer[i..<(i + marker.count)]) == marker { return i }
                    i += 1
                }
                searchFrom = max(0, buffer.count - marker.count + 1)
            }
            try receiveMore(allowEOF: false)
        }
    }

    private func fill(_ count: Int) throws {
        while buffer.count < count { try receiveMore(allowEOF: false) }
    }

    private func receiveMore(allowEOF: Bool) throws {
        if let chunk = try socket.receive() {
            buffer += chunk
        } else {
            peerClosed = true
            if !allowEOF { throw SetupError("connection closed by the server (\(buffer.count) unparsed bytes)") }
        }
    }

    /// Whether the server closes the connection within `timeout` (buffered
    /// bytes are discarded).
    func waitForClose(timeout: TimeInterval) -> Bool {
        if peerClosed { return true }
        try? socket.setTimeout(timeout)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            do {
                if try socket.receive() == nil { peerClosed = true; return true }
            } catch let error as SocketError where error.isTimeout {
                return false
            } catch {
                peerClosed = true // reset
                return true
            }
        }
        return false
    }

    func close() { socket.close() }
}

/// One-shot requests on a fresh connection each.
enum HTTP {
    static func request(port: Int, _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                        timeout: TimeInterval = 15) throws -> HTTPResponse {
        let connection = try HTTPConnection(port: port, timeout: timeout)
        defer { connection.close() }
        return try connection.request(method, path, headers: headers + [("Connection", "close")], body: body)
    }

    static func call(port: Int, _ endpoint: String, _ json: String = "{}", headers: [(String, String)] = [],
                     timeout: TimeInterval = 15) throws -> HTTPResponse {
        try request(port: port, "POST", "/api/\(endpoint)", headers: [("Content-Type", "application/json")] + headers,
                    body: Array(json.utf8), timeout: timeout)
    }
}
