import Foundation
import XCTest

/// Which backend a storage test class runs against. Subclasses for
/// PostgreSQL share one throwaway server per class and get a fresh
/// database per test.
class StorageTestCase: IntegrationTestCase {
    /// "sqlite" or "postgres".
    class var backend: String { "sqlite" }

    nonisolated(unsafe) private static var servers: [String: Result<PostgresServer, SetupError>] = [:]

    /// The class's PostgreSQL server, started on first use.
    var postgres: PostgresServer {
        get throws {
            let key = String(describing: type(of: self))
            if Self.servers[key] == nil {
                do {
                    Self.servers[key] = .success(try PostgresServer.start())
                } catch {
                    Self.servers[key] = .failure(error as? SetupError ?? SetupError("\(error)"))
                }
            }
            return try Self.servers[key]!.get()
        }
    }

    override class func tearDown() {
        if case .success(let server)? = servers[String(describing: self)] { server.stopAndRemove() }
        servers[String(describing: self)] = nil
        super.tearDown()
    }

    /// `--set` values selecting the backend: for PostgreSQL a new database.
    func backendSettings() throws -> [String] {
        guard Self.backend == "postgres" else { return [] }
        let server = try postgres
        let database = "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        try server.createDatabase(database)
        return ["storage.backend=postgres", "storage.url=\(server.url(database: database))", "storage.timeout_ms=3000"]
    }

    /// A kernel with http, storage, the probe (and hello, to check it keeps serving).
    func startStorageKernel(plugins extra: [String] = [], settings: [String] = [],
                            file: StaticString = #filePath, line: UInt = #line) throws -> KernelProcess {
        let backend: [String]
        do {
            backend = try backendSettings()
        } catch {
            XCTFail("PostgreSQL could not be started: \(error)", file: file, line: line)
            throw error
        }
        return try startKernel(plugins: ["libhttp.so", "libhello.so", "libstorage.so", "libstorageprobe.so"] + extra,
                               settings: backend + settings, file: file, line: line)
    }

    /// POST /api/<endpoint> with a JSON object body.
    @discardableResult
    func call(_ kernel: KernelProcess, _ endpoint: String, _ body: [String: Any] = [:], timeout: TimeInterval = 30) throws -> HTTPResponse {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try HTTP.call(port: kernel.httpPort, endpoint, json, timeout: timeout)
    }

    /// Calls and asserts HTTP 200; returns the JSON body.
    @discardableResult
    func ok(_ kernel: KernelProcess, _ endpoint: String, _ body: [String: Any] = [:],
            file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let response = try call(kernel, endpoint, body)
        XCTAssertEqual(response.status, 200, "\(endpoint) \(body): \(response.summary)", file: file, line: line)
        return response.json ?? [:]
    }

    /// Calls and asserts an error with `code` (and HTTP status).
    func fails(_ kernel: KernelProcess, _ endpoint: String, _ body: [String: Any], code: String, status: Int,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let response = try call(kernel, endpoint, body)
        XCTAssertEqual(response.status, status, "\(endpoint): \(response.summary)", file: file, line: line)
        XCTAssertEqual(response.errorCode, code, "\(endpoint): \(response.summary)", file: file, line: line)
    }
}

extension Dictionary where Key == String, Value == Any {
    func int(_ key: String) -> Int? { (self[key] as? NSNumber)?.intValue }
    func strings(_ key: String) -> [String] { self[key] as? [String] ?? [] }
}
