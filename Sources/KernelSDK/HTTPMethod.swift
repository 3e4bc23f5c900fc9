/// An HTTP request method, for `PluginContext.route`.
///
/// ```swift
/// kernel.route(.get, "/users/:id", to: "users.get")
/// kernel.route(HTTPMethod("PURGE"), "/cache/*", to: "cache.purge")
/// ```
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The method's name, upper case.
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue.uppercased() }
    public init(_ name: String) { self.init(rawValue: name) }

    public static let get = HTTPMethod("GET")
    public static let head = HTTPMethod("HEAD")
    public static let post = HTTPMethod("POST")
    public static let put = HTTPMethod("PUT")
    public static let patch = HTTPMethod("PATCH")
    public static let delete = HTTPMethod("DELETE")
    public static let options = HTTPMethod("OPTIONS")

    public var description: String { rawValue }
}

extension HTTPMethod: ExpressibleByStringLiteral {
    public init(stringLiteral name: String) { self.init(rawValue: name) }
}
