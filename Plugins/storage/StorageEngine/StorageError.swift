/// Why a storage operation failed. The codes mirror the kernel's status
/// names (the plugin maps them to `kn_status`), without depending on the ABI.
public struct StorageError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        case invalidArgument = "invalid_argument"
        case notFound = "not_found"
        case conflict
        case tooLarge = "too_large"
        case timeout
        case unavailable
        case `internal`
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public static func invalidArgument(_ message: String) -> Self { Self(.invalidArgument, message) }
    public static func tooLarge(_ message: String) -> Self { Self(.tooLarge, message) }
    public static func unavailable(_ message: String) -> Self { Self(.unavailable, message) }
    public static func conflict(_ message: String) -> Self { Self(.conflict, message) }
    public static func `internal`(_ message: String) -> Self { Self(.internal, message) }

    /// Any error as a StorageError: ours as they are, others as internal.
    public static func wrap(_ error: any Error) -> StorageError {
        (error as? StorageError) ?? .internal("\(error)")
    }
}
