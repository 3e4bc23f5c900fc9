import ArgumentParser
import Foundation
import KernelClient

/// The protocols `kernelctl call --via` speaks.
enum Transport: String, ExpressibleByArgument, CaseIterable, Sendable {
    case http, ws, tcp

    var defaultPort: Int {
        switch self {
        case .http: 8080
        case .ws: 8082
        case .tcp: 8081
        }
    }
}

/// `kernelctl call ENDPOINT JSON --via http|ws|tcp`: the call travels like a
/// client's, through the transport and the middleware, with KernelClient.
/// Over ws and tcp it is a stream: each item is printed on its own line as
/// it arrives, then the result (left out after items when it is `{}`).
struct CallVia {
    let transport: Transport
    let host: String
    let port: Int?
    let endpoint: String
    let body: String
    /// `name=value`; a `header.` prefix (the admin form) is dropped.
    let meta: [String]
    let sendsStdinItems: Bool

    func run(_ context: Context) throws(CtlError) {
        var headers: [String: String] = [:]
        for entry in meta {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts[0].hasPrefix("header.") ? String(parts[0].dropFirst(7)) : String(parts[0])
            headers[name.lowercased()] = String(parts[1])
        }
        let request = Request(endpoint: endpoint, payload: Array(body.utf8), meta: headers, sendsStdinItems: sendsStdinItems,
                              overHTTP: transport == .http)
        try ClientTarget(transport: transport, host: host, port: port).run(context) { try await request.perform($0) }
    }

    private struct Request: Sendable {
        let endpoint: String
        let payload: [UInt8]
        let meta: [String: String]
        let sendsStdinItems: Bool
        /// http takes unary calls only.
        let overHTTP: Bool

        func perform(_ client: KernelClient) async throws {
            if overHTTP {
                print(try await client.call(endpoint, json: payload, meta: meta).text)
                return
            }
            let stream = try await client.stream(endpoint, json: payload, meta: meta)
            if sendsStdinItems {
                Task {
                    while let line = readLine() {
                        guard !line.isEmpty else { continue }
                        try await stream.send(json: Array(line.utf8))
                    }
                    try await stream.end()
                }
            }
            var printedItems = false
            for try await item in stream {
                print(item.text)
                fflush(nil) // a stream is watched live: no block buffering into a pipe
                printedItems = true
            }
            let result = try await stream.result
            if !printedItems || result.text != "{}" { print(result.text) }
        }
    }
}
