import CKernelABI
import Foundation

/// An event as a handler receives it (a copy).
///
/// ```swift
/// kernel.on("orders.#") { event in
///     let order = try? event.decode(Order.self)
///     kernel.log(.info, "\(event.topic) from \(event.publisher) at \(event.publishedAt)")
/// }
/// ```
public struct Event: Sendable {
    /// Increasing per kernel process.
    public let id: UInt64
    /// The dot-separated topic it was published to.
    public let topic: String
    /// The payload as published (JSON from the SDK's `publish`).
    public let payload: [UInt8]
    /// The name of the plugin that published it.
    public let publisher: String
    /// When it was published.
    public let publishedAt: Date

    init(_ event: kn_event) {
        id = event.id
        topic = event.topic.map { String(cString: $0) } ?? ""
        payload = event.payload.copiedBytes
        publisher = event.publisher.map { String(cString: $0) } ?? ""
        publishedAt = Date(timeIntervalSince1970: Double(event.published_at_ms) / 1_000)
    }

    /// Decodes the JSON payload.
    public func decode<T: Decodable>(_ type: T.Type) throws(PluginError) -> T {
        try JSON.decode(T.self, from: payload, what: "event payload")
    }
}
