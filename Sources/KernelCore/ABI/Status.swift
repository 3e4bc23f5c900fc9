import CKernelABI

/// The names and HTTP equivalents of `kn_status` codes, as `kn_plugin.h` lists them.
public enum Status {
    public static let names: [kn_status: String] = [
        KN_OK: "ok",
        KN_ERR_INVALID_ARGUMENT: "invalid_argument",
        KN_ERR_NOT_FOUND: "not_found",
        KN_ERR_VALIDATION: "validation",
        KN_ERR_CONFLICT: "conflict",
        KN_ERR_UNAUTHORIZED: "unauthorized",
        KN_ERR_FORBIDDEN: "forbidden",
        KN_ERR_RATE_LIMITED: "rate_limited",
        KN_ERR_TOO_LARGE: "too_large",
        KN_ERR_TIMEOUT: "timeout",
        KN_ERR_UNAVAILABLE: "unavailable",
        KN_ERR_CANCELLED: "cancelled",
        KN_ERR_INTERNAL: "internal",
        KN_ERR_METHOD_NOT_ALLOWED: "method_not_allowed",
        KN_ERR_ALREADY_COMPLETED: "already_completed",
    ]

    public static func name(_ status: kn_status) -> String {
        names[status] ?? "internal"
    }
}

/// An error carrying a `kn_status`, thrown inside the kernel and turned into
/// an admin error or a call failure at the edge.
public struct KernelError: Error, CustomStringConvertible, Sendable {
    public var status: kn_status
    public var message: String
    public var details: [String: String]

    public init(_ status: kn_status, _ message: String, details: [String: String] = [:]) {
        self.status = status
        self.message = message
        self.details = details
    }

    public var description: String { message }
}

/// A plugin file the kernel refused, with the reason.
public struct RejectionError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}
