import Foundation
import Glibc

// Subscribers for the events benchmark, on one thread with poll(2), so the
// kernel and Redis are measured with the same client:
//   EventFanout ws HOST PORT SUBSCRIBERS COUNT PATTERN SINCE|- [TRIGGER_PATH TRIGGER_JSON]
//     WebSocket subscribers (envelope `subscribe`); once all are subscribed,
//     POSTs TRIGGER_JSON to TRIGGER_PATH on HTTP_PORT (env) to start the
//     publisher; waits until each got COUNT events.
//   EventFanout redis HOST PORT SUBSCRIBERS COUNT SIZE
//     Redis SUBSCRIBE clients, and one connection that pipelines COUNT PUBLISHes.
// Prints {"delivered":N,"seconds":S,"per_second":R} (delivered = subscribers × COUNT).

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(1)
}

func connectTo(_ host: String, _ port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, host, &address.sin_addr)
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard result == 0 else { fail("connect \(host):\(port): \(String(cString: strerror(errno)))") }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    return fd
}

func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
    var sent = 0
    while sent < bytes.count {
        let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard n > 0 else { fail("send: \(String(cString: strerror(errno)))") }
        sent += n
    }
}

func readSome(_ fd: Int32, into buffer: inout [UInt8]) -> Int {
    var chunk = [UInt8](repeating: 0, count: 65_536)
    let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    if n > 0 { buffer.append(contentsOf: chunk[0..<n]) }
    return n
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Polls `fds` and hands each readable one to `body` until it returns true.
func pollLoop(_ fds: [Int32], timeout: Double, _ body: (Int) -> Bool) {
    var pollfds = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    let deadline = now() + timeout
    while now() < deadline {
        let ready = poll(&pollfds, nfds_t(pollfds.count), 1_000)
        if ready <= 0 { continue }
        for index in pollfds.indices where pollfds[index].revents != 0 {
            if body(index) { return }
        }
    }
    fail("timed out")
}

func report(_ delivered: Int, _ seconds: Double) {
    print(#"{"delivered":\#(delivered),"seconds":\#(seconds),"per_second":\#(Double(delivered) / seconds)}"#)
}

let arguments = CommandLine.arguments
guard arguments.count >= 7 else { fail("usage: EventFanout ws|redis HOST PORT SUBSCRIBERS COUNT …") }
let host = arguments[2], port = Int(arguments[3])!, subscribers = Int(arguments[4])!, count = Int(arguments[5])!

switch arguments[1] {
case "ws":
    let pattern = arguments[6]
    let since = arguments.count > 7 && arguments[7] != "-" ? #","since":\#(arguments[7])"# : ""
    var sockets: [Int32] = []
    for _ in 0..<subscribers {
        let fd = connectTo(host, port)
        sendAll(fd, Array("GET / HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8))
        var head: [UInt8] = []
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            var byte: UInt8 = 0
            guard recv(fd, &byte, 1, 0) == 1 else { fail("upgrade failed") }
            head.append(byte)
        }
        let text = Array(#"{"type":"subscribe","id":1,"patterns":["\#(pattern)"]\#(since)}"#.utf8)
        var frame: [UInt8] = [0x81]
        if text.count < 126 { frame.append(0x80 | UInt8(text.count)) } else { frame += [0x80 | 126, UInt8(text.count >> 8), UInt8(text.count & 0xFF)] }
        frame += [0, 0, 0, 0] + text // a zero mask leaves the bytes as they are
        sendAll(fd, frame)
        sockets.append(fd)
    }
    var buffers = [[UInt8]](repeating: [], count: subscribers)
    var events = [Int](repeating: 0, count: subscribers)
    var subscribed = [Bool](repeating: false, count: subscribers)
    var start = 0.0
    var finished = 0
    var triggered = false
    func trigger() {
        guard arguments.count > 9, let httpPort = ProcessInfo.processInfo.environment["HTTP_PORT"].flatMap(Int.init) else { return }
        let body = Array(arguments[9].utf8)
        let fd = connectTo(host, httpPort)
        sendAll(fd, Array("POST \(arguments[8]) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
    }
    if !(arguments.count > 9) { start = now(); triggered = true }
    pollLoop(sockets, timeout: 600) { index in
        guard readSome(sockets[index], into: &buffers[index]) > 0 else { fail("subscriber \(index) closed") }
        var at = 0
        let buffer = buffers[index]
        while buffer.count - at >= 2 {
            var length = Int(buffer[at + 1] & 0x7F)
            var header = 2
            if length == 126 {
                guard buffer.count - at >= 4 else { break }
                length = Int(buffer[at + 2]) << 8 | Int(buffer[at + 3]); header = 4
            } else if length == 127 {
                guard buffer.count - at >= 10 else { break }
                length = (0..<8).reduce(0) { $0 << 8 | Int(buffer[at + 2 + $1]) }; header = 10
            }
            guard buffer.count - at >= header + length else { break }
            let payload = buffer[(at + header)..<(at + header + length)]
            // {"id":1,"type":"event",…}
            let batchPrefix = Array(#"{"id":1,"type":"events","count":"#.utf8)
            if payload.starts(with: Array(#"{"id":1,"type":"event","#.utf8)) {
                events[index] += 1
                if events[index] == count { finished += 1 }
            } else if payload.starts(with: batchPrefix) {
                // {"id":1,"type":"events","count":N,"events":[…]}
                let digits = payload.dropFirst(batchPrefix.count).prefix { $0 >= 0x30 && $0 <= 0x39 }
                let before = events[index]
                events[index] += Int(String(decoding: digits, as: UTF8.self)) ?? 0
                if before < count && events[index] >= count { finished += 1 }
            } else if payload.starts(with: Array(#"{"id":1,"type":"subscribed""#.utf8)) {
                subscribed[index] = true
            } else {
                fail("subscriber \(index): \(String(decoding: payload, as: UTF8.self))")
            }
            at += header + length
        }
        buffers[index].removeFirst(at)
        if !triggered && !subscribed.contains(false) {
            triggered = true
            start = now()
            trigger()
        }
        return finished == subscribers
    }
    report(subscribers * count, now() - start)

case "redis":
    let size = Int(arguments[6])!
    let payload = String(repeating: "x", count: size)
    var sockets: [Int32] = []
    let confirmation = Array("*3\r\n$9\r\nsubscribe\r\n$5\r\nbench\r\n:1\r\n".utf8)
    for _ in 0..<subscribers {
        let fd = connectTo(host, port)
        sendAll(fd, Array("SUBSCRIBE bench\r\n".utf8))
        var got: [UInt8] = []
        while got.count < confirmation.count { guard readSome(fd, into: &got) > 0 else { fail("subscribe failed") } }
        sockets.append(fd)
    }
    let message = "*3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n$\(size)\r\n\(payload)\r\n".utf8.count
    let publisher = connectTo(host, port)
    var flags = fcntl(publisher, F_GETFL)
    flags |= O_NONBLOCK
    _ = fcntl(publisher, F_SETFL, flags)
    let command = Array("*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$\(size)\r\n\(payload)\r\n".utf8)
    var received = [Int](repeating: 0, count: subscribers)
    var pending: [UInt8] = []
    var published = 0
    var finished = 0
    let start = now()
    var pollfds = (sockets + [publisher]).map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    while finished < subscribers {
        // Keep the publisher's pipe full: Redis answers each PUBLISH, which this loop reads and drops.
        while published < count && pending.count < 256 * 1024 {
            for _ in 0..<min(1_000, count - published) { pending += command }
            published = min(count, published + 1_000)
        }
        pollfds[subscribers].events = Int16(POLLIN) | (pending.isEmpty ? 0 : Int16(POLLOUT))
        guard poll(&pollfds, nfds_t(pollfds.count), 10_000) > 0 else { fail("redis timed out") }
        if pollfds[subscribers].revents & Int16(POLLOUT) != 0, !pending.isEmpty {
            let n = pending.withUnsafeBytes { send(publisher, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { pending.removeFirst(n) }
        }
        if pollfds[subscribers].revents & Int16(POLLIN) != 0 {
            var sink: [UInt8] = []
            _ = readSome(publisher, into: &sink)
        }
        for index in 0..<subscribers where pollfds[index].revents != 0 {
            var sink: [UInt8] = []
            let n = readSome(sockets[index], into: &sink)
            guard n > 0 else { fail("subscriber \(index) closed") }
            let before = received[index] / message
            received[index] += n
            if before < count && received[index] / message >= count { finished += 1 }
        }
    }
    report(subscribers * count, now() - start)

default:
    fail("mode: ws or redis")
}
