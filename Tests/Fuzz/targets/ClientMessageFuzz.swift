// Checks ClientMessage.parse: accepted messages are JSON objects, ids are valid JSON, payloads are the client's exact values, and a subscribe's built payload is an object with the expected keys.
import EnvelopeJSON
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    var buffer = ByteBuffer()
    // A prefix before the reader index: ranges must be taken relative to the readable bytes.
    buffer.writeBytes([0x7B, 0x7D])
    buffer.moveReaderIndex(forwardBy: 2)
    buffer.writeBytes(input)

    guard case .success(let message) = ClientMessage.parse(buffer) else { return 0 }
    let isObject = (try? JSONScanner.members(ofObject: input)) != nil
    require(isObject, "accepted a message that is not an object")

    func checkID(_ id: String) {
        let bytes = Array(id.utf8)
        require(bytes.withUnsafeBytes { JSONScanner.isIdentifier($0, in: 0..<$0.count) }, "id \(id) is not a JSON string or integer")
    }
    func checkRawValue(_ payload: ByteBuffer) {
        let bytes = Array(payload.readableBytesView)
        require(bytes.withUnsafeBytes { JSONScanner.isValue($0) }, "payload is not a value: \(String(decoding: bytes, as: UTF8.self))")
        require(contains(input, bytes), "payload is not the client's own bytes")
    }

    switch message {
    case .call(let start):
        checkID(start.id)
        require(!start.endpoint.isEmpty, "empty endpoint")
        for entry in start.meta { require(entry.name == entry.name.lowercased(), "meta name \(entry.name) not lower case") }
        if start.isSubscription {
            require(start.endpoint == ClientMessage.subscribeEndpoint && start.isStream, "subscription flags")
            checkSubscribePayload(start.payload)
        } else if start.payload.readableBytes > 0 {
            checkRawValue(start.payload)
        }
    case .item(let id, let payload):
        checkID(id)
        checkRawValue(payload)
    case .end(let id), .cancel(let id), .unsubscribe(let id):
        checkID(id)
    case .ping(let id):
        if let id { checkID(id) }
    }
    return 0
}

/// `{"patterns":[...],"since":...,"overflow":...}`, built from checked raw values.
private func checkSubscribePayload(_ payload: ByteBuffer) {
    let bytes = Array(payload.readableBytesView)
    bytes.withUnsafeBytes { raw in
        guard let members = try? JSONScanner.members(ofObject: raw) else {
            fail("subscribe payload is not an object: \(String(decoding: bytes, as: UTF8.self))")
        }
        let keys = members.map(\.key)
        require(keys.first == "patterns" && Set(keys).isSubset(of: ["patterns", "since", "overflow"]) && Set(keys).count == keys.count,
                "subscribe payload keys \(keys)")
        let patterns = members[0].value
        require((ClientMessage.stringArrayCount(raw, in: patterns) ?? 0) > 0, "patterns is not a non-empty array of strings")
        for member in members where member.key == "overflow" {
            require(JSONScanner.string(raw, in: member.value) != nil, "overflow is not a string")
        }
        for member in members where member.key == "since" {
            require(JSONScanner.isIdentifier(raw, in: member.value), "since is not a string or an integer")
        }
    }
}

private func contains(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
    guard needle.count <= haystack.count else { return false }
    return (0...(haystack.count - needle.count)).contains { start in
        haystack[start..<(start + needle.count)].elementsEqual(needle)
    }
}
