import Foundation
import Synchronization
import XCTest

@testable import AuthCore

/// Runs a program and returns its standard output; a non-zero exit throws
/// with its standard error.
@discardableResult
func runTool(_ arguments: [String], input: Data? = nil) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let stdout = Pipe()
    let stderr = Pipe()
    let stdin = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = stdin
    try process.run()
    stdin.fileHandleForWriting.write(input ?? Data())
    try stdin.fileHandleForWriting.close()
    // Read before waiting, so a large output cannot fill the pipe and stall the child.
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    let errors = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ToolError("\(arguments.prefix(3).joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self))")
    }
    return output
}

struct ToolError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Key pairs made with `openssl genpkey`, once per test run, in a temporary
/// directory: two RSA 2048 keys (the second is "the wrong key"), P-256 and Ed25519.
final class KeyFiles: Sendable {
    let directory: URL
    let rsaPrivate: String, rsaPublic: String
    let otherRSAPrivate: String, otherRSAPublic: String
    let ecPrivate: String, ecPublic: String
    let edPrivate: String, edPublic: String

    private static let made = Mutex<Result<KeyFiles, ToolError>?>(nil)

    /// The shared key files; skips the test when python3 with PyJWT is missing.
    static func shared() throws -> KeyFiles {
        do {
            try runTool(["python3", "-c", "import jwt, cryptography"])
        } catch {
            throw XCTSkip("python3 with pyjwt and cryptography is needed to mint tokens: \(error)")
        }
        return try made.withLock { made in
            if let made { return try made.get() }
            let result: Result<KeyFiles, ToolError>
            do { result = .success(try KeyFiles()) } catch { result = .failure(ToolError("\(error)")) }
            made = result
            return try result.get()
        }
    }

    private init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("authcore-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func pair(_ name: String, _ options: [String]) throws -> (String, String) {
            let privatePath = directory.appendingPathComponent("\(name).key.pem").path
            let publicPath = directory.appendingPathComponent("\(name).pub.pem").path
            try runTool(["openssl", "genpkey"] + options + ["-out", privatePath])
            try runTool(["openssl", "pkey", "-in", privatePath, "-pubout", "-out", publicPath])
            return (privatePath, publicPath)
        }
        self.directory = directory
        (rsaPrivate, rsaPublic) = try pair("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        (otherRSAPrivate, otherRSAPublic) = try pair("rsa2", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        (ecPrivate, ecPublic) = try pair("ec", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        (edPrivate, edPublic) = try pair("ed25519", ["-algorithm", "ED25519"])
    }

    /// A fresh file path in the key directory.
    func path(_ name: String) -> String {
        directory.appendingPathComponent("\(UUID().uuidString)-\(name)").path
    }
}

/// Mints tokens and JWKs with PyJWT, so the verifier is checked against an
/// independent implementation rather than against itself.
enum PyJWT {
    private static let script = #"""
import base64, hashlib, hmac, json, sys
import jwt
spec = json.load(sys.stdin)
def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
mode = spec["mode"]
if mode == "sign":
    key = None
    if "key_file" in spec:
        key = open(spec["key_file"], "rb").read()
    elif "secret" in spec:
        key = spec["secret"].encode()
    sys.stdout.write(jwt.encode(spec["claims"], key, algorithm=spec["alg"], headers=spec.get("headers")))
elif mode == "raw_hs256":
    # By hand, for what PyJWT rightly refuses to make: a PEM key as an HMAC secret, a non-string iss.
    header = {"alg": "HS256", "typ": "JWT", **spec.get("headers", {})}
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(spec["claims"]).encode())
    secret = open(spec["secret_file"], "rb").read() if "secret_file" in spec else spec["secret"].encode()
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    sys.stdout.write(signing_input + "." + b64(signature))
elif mode == "jwk":
    algorithm = jwt.get_algorithm_by_name(spec["alg"])
    key = algorithm.prepare_key(open(spec["key_file"], "rb").read())
    jwk = json.loads(algorithm.to_jwk(key))
    jwk.update(spec.get("extra", {}))
    sys.stdout.write(json.dumps(jwk))
"""#

    private static func call(_ spec: [String: Any]) throws -> String {
        let input = try JSONSerialization.data(withJSONObject: spec)
        return String(decoding: try runTool(["python3", "-c", script], input: input), as: UTF8.self)
    }

    /// Claims every test token starts from: a subject and an hour to live.
    static func claims(_ extra: [String: Any] = [:]) -> [String: Any] {
        var claims: [String: Any] = ["sub": "alice", "exp": Int(Date().timeIntervalSince1970) + 3600]
        claims.merge(extra) { $1 }
        return claims
    }

    /// Signs `claims` with a PEM private key file (RS256, ES256, EdDSA).
    static func sign(_ alg: String, keyFile: String, kid: String? = nil, claims: [String: Any] = claims()) throws -> String {
        var spec: [String: Any] = ["mode": "sign", "alg": alg, "key_file": keyFile, "claims": claims]
        if let kid { spec["headers"] = ["kid": kid] }
        return try call(spec)
    }

    /// Signs `claims` with an HMAC secret.
    static func sign(_ alg: String, secret: String, kid: String? = nil, claims: [String: Any] = claims()) throws -> String {
        var spec: [String: Any] = ["mode": "sign", "alg": alg, "secret": secret, "claims": claims]
        if let kid { spec["headers"] = ["kid": kid] }
        return try call(spec)
    }

    /// An unsecured token (`alg: none`, empty signature).
    static func unsigned(claims: [String: Any] = claims()) throws -> String {
        try call(["mode": "sign", "alg": "none", "claims": claims])
    }

    /// An HS256 token whose HMAC secret is the bytes of a file: the RSA
    /// public key PEM, in the algorithm-confusion attack.
    static func hs256(secretFile: String, kid: String? = nil, claims: [String: Any] = claims()) throws -> String {
        var spec: [String: Any] = ["mode": "raw_hs256", "secret_file": secretFile, "claims": claims]
        if let kid { spec["headers"] = ["kid": kid] }
        return try call(spec)
    }

    /// An HS256 token assembled without PyJWT's claim checks on encoding.
    static func rawHS256(secret: String, claims: [String: Any], headers: [String: Any] = [:]) throws -> String {
        try call(["mode": "raw_hs256", "secret": secret, "claims": claims, "headers": headers])
    }

    /// The public JWK of a PEM key, with `kid` and `alg` set.
    static func jwk(_ alg: String, keyFile: String, kid: String) throws -> [String: Any] {
        let text = try call(["mode": "jwk", "alg": alg, "key_file": keyFile, "extra": ["kid": kid, "alg": alg, "use": "sig"]])
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }
}

/// Writes a JWKS file and moves its modification time forward by a second
/// each time, so every rewrite is a visible change whatever the file system's
/// timestamp granularity.
final class JWKSFile: Sendable {
    let path: String
    private let writes = Mutex(0)

    init(path: String) {
        self.path = path
    }

    func write(_ keys: [[String: Any]]) throws {
        try write(raw: try JSONSerialization.data(withJSONObject: ["keys": keys], options: [.sortedKeys]))
    }

    func write(raw: Data) throws {
        try raw.write(to: URL(fileURLWithPath: path))
        let count = writes.withLock { count in
            count += 1
            return count
        }
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: 1_700_000_000 + Double(count))], ofItemAtPath: path)
    }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let seconds: Mutex<Double>

    init(_ start: Double = Date().timeIntervalSince1970) {
        seconds = Mutex(start)
    }

    var now: Double { seconds.withLock { $0 } }

    func advance(by delta: Double) {
        seconds.withLock { $0 += delta }
    }
}

/// Asserts that `body` throws exactly `expected`.
func assertFails<T>(
    _ expected: AuthFailure, file: StaticString = #filePath, line: UInt = #line,
    _ body: () async throws(AuthFailure) -> T
) async {
    do {
        let value = try await body()
        XCTFail("expected '\(expected.reason)', got \(value)", file: file, line: line)
    } catch {
        XCTAssertEqual(error.reason, expected.reason, file: file, line: line)
        XCTAssertEqual(error.kind, expected.kind, file: file, line: line)
    }
}

/// Asserts that `body` throws a configuration error whose message contains `fragment`.
func assertConfigError<T>(
    containing fragment: String, file: StaticString = #filePath, line: UInt = #line,
    _ body: () async throws(AuthConfigError) -> T
) async {
    do {
        let value = try await body()
        XCTFail("expected an error containing '\(fragment)', got \(value)", file: file, line: line)
    } catch {
        XCTAssertTrue(error.message.contains(fragment), "'\(error.message)' lacks '\(fragment)'", file: file, line: line)
    }
}

/// Polls `condition` until it holds or `timeout` passes; for effects that
/// land within some interval rather than at a known moment.
func waitUntil(
    timeout: Duration = .seconds(10), file: StaticString = #filePath, line: UInt = #line,
    _ condition: () async -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    XCTFail("condition did not hold within \(timeout)", file: file, line: line)
}
