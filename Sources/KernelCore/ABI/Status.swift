import CKernelABI

/// The names of `kn_status` codes: `kn_plugin.h`'s `kn_status_name`, the one list.
public enum Status {
    public static func name(_ status: kn_status) -> String {
        String(cString: kn_status_name(status))
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
