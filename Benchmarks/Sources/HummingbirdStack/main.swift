import HTTPTypes
import Hummingbird
import HummingbirdAuth
import JWTKit
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The peer of the kernel's "usual stack": HummingbirdHello's `POST /api/hello`, behind
/// Hummingbird's own middleware where it has one and small middleware where it has not:
/// a request id, one access-log line per request into a buffered file, CORS, a per-IP
/// token bucket, JWT (HS256) verified by jwt-kit through hummingbird-auth's authenticator
/// pattern, and security headers.
///
///   HummingbirdStack --port N --log-file PATH --secret TEXT

struct Message: ResponseEncodable { let message: String }

// MARK: - Options

func usage(_ problem: String) -> Never {
    let text = "HummingbirdStack: \(problem)\nusage: HummingbirdStack [--port N] --log-file PATH --secret TEXT\n"
    _ = text.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    exit(2)
}

var port = 8091
var logPath: String?
var secret: String?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port":
        guard let value = arguments.next().flatMap(Int.init) else { usage("--port needs a number") }
        port = value
    case "--log-file":
        guard let value = arguments.next() else { usage("--log-file needs a path") }
        logPath = value
    case "--secret":
        guard let value = arguments.next(), !value.isEmpty else { usage("--secret needs a text") }
        secret = value
    default:
        usage("unknown argument \(argument)")
    }
}
guard let logPath else { usage("--log-file is required") }
guard let secret else { usage("--secret is required") }

// MARK: - Context

struct BenchUser: Sendable { let subject: String }

/// Hummingbird's context plus what the stack needs: the identity (hummingbird-auth),
/// the peer's address, and the request id the first middleware settles on.
struct StackContext: AuthRequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    var identity: BenchUser?
    let remoteAddress: SocketAddress?
    /// The peer's IP, the rate limit's key and part of the log line: formatted once per request.
    let clientIP: String
    var requestID = ""

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.identity = nil
        self.remoteAddress = source.channel.remoteAddress
        self.clientIP = self.remoteAddress?.ipAddress ?? "unknown"
    }
}

extension HTTPField.Name {
    static let xRequestID = Self("X-Request-Id")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}

// MARK: - 1. Request id

/// Hummingbird 2.28.1 has no request-id middleware: it gives every request an id (`context.id`,
/// in the logger's metadata) but neither reads nor returns `X-Request-Id`. This one takes the
/// client's id when there is a sensible one, else Hummingbird's, and returns it.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = StackContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let incoming = request.headers[.xRequestID], !incoming.isEmpty, incoming.utf8.count <= 128 {
            context.requestID = incoming
            context.logger[metadataKey: "hb.request.id"] = .string(incoming)
        } else {
            context.requestID = context.id
        }
        var response = try await next(request, context)
        response.headers[.xRequestID] = context.requestID
        return response
    }
}

// MARK: - 2. Access log

/// An append-only file behind a 64 KiB buffer: one write(2) when the buffer fills, once a
/// second from `flushPeriodically`, and at exit. Like a mutex-protected buffered writer, the
/// request that fills the buffer writes it, under the lock, so lines stay in order.
final class BufferedLogFile: Sendable {
    private let fd: Int32
    private let capacity: Int
    private let buffer: NIOLockedValueBox<[UInt8]>

    init(path: String, capacity: Int = 64 * 1024) {
        self.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard self.fd >= 0 else { usage("cannot open \(path): \(String(cString: strerror(errno)))") }
        self.capacity = capacity
        var bytes: [UInt8] = []
        bytes.reserveCapacity(capacity + 512)
        self.buffer = .init(bytes)
    }

    func append(_ line: String) {
        self.buffer.withLockedValue { bytes in
            bytes.append(contentsOf: line.utf8)
            if bytes.count >= self.capacity { self.drain(&bytes) }
        }
    }

    func flush() {
        self.buffer.withLockedValue { bytes in self.drain(&bytes) }
    }

    func flushPeriodically() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            self.flush()
        }
    }

    private func drain(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(self.fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    break  // a full disk loses log lines, not requests
                }
                offset += written
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }
}

/// One line per request: time, request id, method, path, status, duration, peer, bytes in
/// (the request's Content-Length) and out (the response body). Hummingbird's own
/// `LogRequestsMiddleware` logs before the handler runs, so it has no status, duration or
/// size to log; this middleware logs after it. An error that Hummingbird would turn into a
/// response is turned into that response here, so that its status is logged and the
/// middleware outside (request id, security headers) sees it.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = StackContext
    let file: BufferedLogFile

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = NIODeadline.now()
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            self.log(request, context, status: 500, bytesOut: 0, since: start)
            throw error
        }
        self.log(request, context, status: response.status.code, bytesOut: response.body.contentLength ?? 0, since: start)
        return response
    }

    private func log(_ request: Request, _ context: Context, status: Int, bytesOut: Int, since start: NIODeadline) {
        let micros = (NIODeadline.now() - start).nanoseconds / 1000
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let millis = now.tv_nsec / 1_000_000
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        let bytesIn = request.headers[.contentLength].flatMap(Int.init) ?? 0
        let peerPort = context.remoteAddress?.port ?? 0
        self.file.append(
            "ts=\(now.tv_sec).\(fraction) request_id=\(context.requestID) method=\(request.method.rawValue) path=\(request.uri.path) status=\(status) duration_us=\(micros) peer=\(context.clientIP):\(peerPort) bytes_in=\(bytesIn) bytes_out=\(bytesOut)\n"
        )
    }
}

// MARK: - 4. Rate limit

/// A token bucket per client IP in a lock-protected dictionary. Buckets are never evicted:
/// the benchmark has one client.
final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var last: UInt64

        mutating func take(now: UInt64, rate: Double, burst: Double) -> Bool {
            if now > self.last {
                self.tokens = min(burst, self.tokens + Double(now - self.last) * rate / 1e9)
                self.last = now
            }
            guard self.tokens >= 1 else { return false }
            self.tokens -= 1
            return true
        }
    }

    let rate: Double
    let burst: Double
    private let buckets = NIOLockedValueBox<[String: Bucket]>([:])

    init(perSecond rate: Double, burst: Double? = nil) {
        self.rate = rate
        self.burst = burst ?? rate
    }

    func allow(_ key: String) -> Bool {
        let now = NIODeadline.now().uptimeNanoseconds
        return self.buckets.withLockedValue { buckets in
            buckets[key, default: Bucket(tokens: self.burst, last: now)].take(now: now, rate: self.rate, burst: self.burst)
        }
    }
}

struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = StackContext
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard self.limiter.allow(context.clientIP) else {
            throw HTTPError(.tooManyRequests, headers: [.retryAfter: "1"])
        }
        return try await next(request, context)
    }
}

// MARK: - 5. JWT

struct BenchClaims: JWTPayload {
    var sub: SubjectClaim
    var iss: IssuerClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim

    func verify(using _: some JWTAlgorithm) throws {
        try self.exp.verifyNotExpired()
        guard self.iss.value == "bench" else {
            throw JWTError.claimVerificationFailure(failedClaim: self.iss, reason: "issuer is not bench")
        }
        try self.aud.verifyIntendedAudience(includes: "bench")
    }
}

/// hummingbird-auth's pattern: the authenticator attaches an identity when the request has a
/// bearer token that jwt-kit verifies; `IsAuthenticatedMiddleware` answers 401 when none is
/// attached. A token that is there but does not verify is a 401 at once.
struct JWTAuthenticator: AuthenticatorMiddleware {
    typealias Context = StackContext
    typealias Identity = BenchUser
    let keys: JWTKeyCollection

    func authenticate(request: Request, context: Context) async throws -> BenchUser? {
        guard let bearer = request.headers.bearer else { return nil }
        do {
            let claims = try await self.keys.verify(bearer.token, as: BenchClaims.self)
            return BenchUser(subject: claims.sub.value)
        } catch {
            throw HTTPError(.unauthorized)
        }
    }
}

// MARK: - 6. Security headers

/// `ContentSecurityMiddleware` (Hummingbird's) sets Content-Security-Policy and
/// X-Content-Type-Options; these two it does not have.
struct FrameAndReferrerMiddleware: RouterMiddleware {
    typealias Context = StackContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.referrerPolicy] = "no-referrer"
        return response
    }
}

// MARK: - Application

let logFile = BufferedLogFile(path: logPath)
let keys = JWTKeyCollection()
await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)

let router = Router(context: StackContext.self)
// Outermost first. The access log turns HTTP errors into their responses, so everything
// outside it (request id, security headers) also marks 401s and 429s.
router.add(middleware: RequestIDMiddleware())
router.add(middleware: ContentSecurityMiddleware(contentSecurityPolicy: [.defaultSrc(.self)]))
router.add(middleware: FrameAndReferrerMiddleware())
router.add(middleware: AccessLogMiddleware(file: logFile))
router.add(middleware: RateLimitMiddleware(limiter: RateLimiter(perSecond: 1_000_000)))
router.add(
    middleware: CORSMiddleware(
        allowOrigin: .oneOf("https://app.example.com"),
        allowHeaders: [.authorization, .contentType],
        allowMethods: [.get, .post]
    )
)
router.add(middleware: JWTAuthenticator(keys: keys))
router.add(middleware: IsAuthenticatedMiddleware())
router.post("api/hello") { _, _ in Message(message: "hello") }

let flusher = Task { await logFile.flushPeriodically() }
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
flusher.cancel()
logFile.flush()
