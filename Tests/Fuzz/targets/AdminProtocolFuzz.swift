// Checks the admin socket's LineReader against the protocol (lines end in \n, none over the limit, however the reads are cut) and that every request line gets a one-line JSON answer.
import Foundation
import Glibc

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let maxLength = Int(input.byte() % 64) + 1
    var chunkSeed = input.byte()
    let stream = Array(input.rest)

    // SOCK_SEQPACKET: each write is one read on the other side, so the reader sees the cuts chosen here.
    var fds: [Int32] = [0, 0]
    require(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &fds) == 0, "socketpair failed")
    defer { close(fds[0]); close(fds[1]) }
    // At most 64 packets, well inside the socket's buffer: nothing reads until all are written.
    let smallest = max(1, (stream.count + 63) / 64)
    var offset = 0
    while offset < stream.count {
        let length = min(max(smallest, Int(chunkSeed % 32) + 1), stream.count - offset)
        chunkSeed = chunkSeed &* 37 &+ 11
        let written = stream[offset..<(offset + length)].withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        require(written == length, "wrote \(written) of \(length)")
        offset += length
    }
    shutdown(fds[1], Int32(SHUT_WR))

    var reader = LineReader(fd: fds[0], maxLength: maxLength)
    var got: [Result<[UInt8], LineError>] = []
    while let line = reader.next() {
        got.append(line)
        if case .failure = line { break } // the server answers too_large and closes
    }
    let expected = model(stream, maxLength: maxLength)
    require(got.count == expected.count, "\(got.count) results, expected \(expected.count) (max \(maxLength))")
    for (result, want) in zip(got, expected) {
        switch (result, want) {
        case (.success(let line), .some(let bytes)):
            require(line == bytes, "line \(line) expected \(bytes)")
            answer(line)
        case (.failure, nil): break
        default: fail("got \(result), expected \(String(describing: want)) (max \(maxLength))")
        }
    }
    return 0
}

/// Protocols/admin-protocol.md: lines end in `\n`; a line longer than the
/// limit is refused (nil here) and ends the connection; a last line
/// without its `\n` is dropped.
private func model(_ stream: [UInt8], maxLength: Int) -> [[UInt8]?] {
    var results: [[UInt8]?] = []
    var lines = stream.split(separator: 0x0A, omittingEmptySubsequences: false)
    let unterminated = lines.removeLast()
    for line in lines {
        guard line.count <= maxLength else { return results + [nil] }
        results.append(Array(line))
    }
    return unterminated.count > maxLength ? results + [nil] : results
}

/// What AdminServer.respond(to:) and Kernel.handleAdmin do before any
/// operation runs: the answer, even to nonsense, is one line of JSON.
private func answer(_ line: [UInt8]) {
    let response: [String: Any]
    if let request = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] {
        let args = request["args"] as? [String: Any] ?? [:]
        let op = request["op"] as? String
        var error: [String: Any] = ["ok": false, "error": ["code": "invalid_argument", "message": op == nil ? "missing 'op'" : "unknown op '\(op!)'",
                                                          "details": ["args": args.count]]]
        if let id = request["id"] { error["id"] = id }
        response = error
    } else {
        response = ["ok": false, "error": ["code": "invalid_argument", "message": "a request is one JSON object per line", "details": [:]]]
    }
    guard let data = try? JSONSerialization.data(withJSONObject: response, options: [.sortedKeys]) else {
        fail("no answer can be written for \(String(decoding: line, as: UTF8.self).debugDescription)")
    }
    require(!data.contains(0x0A), "the answer spans more than one line")
}
