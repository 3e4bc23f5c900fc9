import Dispatch
import KernelClient
import Synchronization

/// The kernel reached as a client reaches it (`--via`, `events tail`):
/// through a transport and its middleware, with KernelClient.
struct ClientTarget {
    let transport: Transport
    let host: String
    /// nil: the kernel's own listener from `status` (it may listen on port
    /// 0), else the transport's default port.
    let port: Int?

    /// Connects, runs `body` with the client until it returns, and closes.
    /// Synchronous, as every command is. A kernel's refusal becomes
    /// `CtlError.kernel`, anything else `CtlError.transport`.
    func run(_ context: Context, _ body: @escaping @Sendable (KernelClient) async throws -> Void) throws(CtlError) {
        let port = port ?? listenerPort(context) ?? transport.defaultPort
        let address: KernelAddress = switch transport {
        case .http: .http(host: host, port: port)
        case .ws: .ws(host: host, port: port)
        case .tcp: .tcp(host: host, port: port)
        }
        do {
            try blocking { try await KernelClient.withConnection(address, body) }
        } catch let error as KernelClientError {
            if case .call(let code, let message, _) = error { throw .kernel(code: code, message: message) }
            throw .transport("\(transport.rawValue) \(host):\(port): \(error)")
        } catch {
            throw .transport("\(error)")
        }
    }

    private func listenerPort(_ context: Context) -> Int? {
        guard let status = try? context.request("status"),
              let listeners = status["listeners"] as? [JSONObject] else { return nil }
        return listeners.first { $0["plugin"] as? String == transport.rawValue }?["port"] as? Int
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
