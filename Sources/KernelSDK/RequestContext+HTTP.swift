import CKernelABI
import Foundation

/// Logging about a request, and the caching headers a response carries.
extension RequestContext {
    /// Logs one line about this request, tagged with its request id and
    /// endpoint (a 1.3 kernel: the plugin's log, untagged).
    ///
    /// ```swift
    /// request.log(.info, "charged card ending \(last4)")
    /// ```
    public func log(_ level: PluginContext.LogLevel, _ message: String) {
        guard let plugin = PluginRuntime.current?.context?.handle else { return }
        guard PluginContext.table(host, has: \.call_log) else {
            host.pointee.log(plugin, level.rawValue, message)
            return
        }
        host.pointee.call_log(plugin, call, level.rawValue, message)
    }

    /// Sets `Cache-Control`: `max-age` seconds for the client; `private`
    /// for answers about one user; `public` for answers a shared cache (the
    /// `cache` plugin, a CDN) may keep and give to every caller.
    ///
    /// ```swift
    /// request.cacheControl(maxAge: .seconds(60), public: true)
    /// ```
    public func cacheControl(maxAge: Duration, private isPrivate: Bool = false, public isPublic: Bool = false) {
        let scope = isPrivate ? "private, " : isPublic ? "public, " : ""
        setResponseHeader("cache-control", "\(scope)max-age=\(maxAge.components.seconds)")
    }

    /// Sets `Cache-Control: no-store`.
    public func noStore() { setResponseHeader("cache-control", "no-store") }

    /// Sets the `ETag` of the answer: any text that changes when the answer
    /// does (a version, a hash). A GET whose `If-None-Match` names it gets
    /// 304 Not Modified, without the body, from the http transport.
    ///
    /// ```swift
    /// request.etag("v\(article.version)")
    /// ```
    public func etag(_ tag: String, weak: Bool = false) {
        let quoted = tag.hasPrefix("\"") || tag.hasPrefix("W/") ? tag : "\"\(tag)\""
        setResponseHeader("etag", weak && !quoted.hasPrefix("W/") ? "W/" + quoted : quoted)
    }

    /// Sets `Last-Modified`; a GET whose `If-Modified-Since` is not older gets 304.
    public func lastModified(_ date: Date) { setResponseHeader("last-modified", HTTPDate.format(date)) }
}

/// The IMF-fixdate of RFC 9110 (`Sun, 06 Nov 1994 08:49:37 GMT`).
enum HTTPDate {
    static func format(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}
