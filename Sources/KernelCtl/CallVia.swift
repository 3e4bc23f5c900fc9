import ArgumentParser
import Foundation
import KernelClient
import Synchronization

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
        let port = port ?? listenerPort(context) ?? transport.defaultPort
        let address: KernelAddress = switch transport {
        case .http: .http(host: host, port: port)
        case .ws: .ws(host: host, port: port)
        case .tcp: .tcp(host: host, port: port)
        }
        var headers: [String: String] = [:]
        for entry in meta {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts[0].hasPrefix("header.") ? String(parts[0].dropFirst(7)) : String(parts[0])
            headers[name.lowercased()] = String(parts[1])
        }
        let request = Request(address: address, endpoint: endpoint, payload: Array(body.utf8), meta: headers,
                              sendsStdinItems: sendsStdinItems)
        do {
            try blocking { try await request.perform() }
        } catch let error as KernelClientError {
            if case .call(let code, let message, _) = error { throw .kernel(code: code, message: message) }
            throw .transport("\(transport.rawValue) \(host):\(port): \(error)")
        } catch {
            throw .transport("\(error)")
        }
    }

    /// The kernel's own port for the transport, when its admin socket answers (it may listen on port 0).
    private func listenerPort(_ context: Context) -> Int? {
        guard let status = try? context.request("status"),
              let listeners = status["listeners"] as? [JSONObject] else { return nil }
        return listeners.first { $0["plugin"] as? String == transport.rawValue }?["port"] as? Int
    }

    private struct Request: Sendable {
        let address: KernelAddress
        let endpoint: String
        let payload: [UInt8]
        let meta: [String: String]
        let sendsStdinItems: Bool

        func perform() async throws {
            try await KernelClient.withConnection(address) { try await perform($0) }
        }

        private func perform(_ client: KernelClient) async throws {
            if case .http = address {
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

/// Runs `body` on the concurrency pool and waits for it: the CLI's commands are synchronous.
private func blocking(_ body: @escaping @Sendable () async throws -> Void) throws {
    let outcome = Mutex<Result<Void, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            try await body()
            outcome.withLock { $0 = .success(()) }
        } catch {
            outcome.withLock { $0 = .failure(error) }
        }
        done.signal()
    }
    done.wait()
    try outcome.withLock { $0 }?.get()
}
