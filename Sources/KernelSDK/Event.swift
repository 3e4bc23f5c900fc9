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
    /// Its place in the pubsub log; 0 when not stored (no pubsub plugin, a
    /// topic it does not keep, or a kernel older than ABI 1.3).
    public let offset: UInt64
    /// Whom it concerns (empty from a kernel older than ABI 1.3).
    public let context: EventContext

    init(_ event: kn_event) {
        id = event.id
        topic = event.topic.map { String(cString: $0) } ?? ""
        payload = event.payload.copiedBytes
        publisher = event.publisher.map { String(cString: $0) } ?? ""
        publishedAt = Date(timeIntervalSince1970: Double(event.published_at_ms) / 1_000)
        let has13 = Int(event.struct_size) >= MemoryLayout<kn_event>.size
        offset = has13 ? event.offset : 0
        context = has13 ? EventContext(event.context) : EventContext()
    }

    /// Decodes the JSON payload.
    public func decode<T: Decodable>(_ type: T.Type) throws(PluginError) -> T {
        try JSON.decode(T.self, from: payload, what: "event payload")
    }
}
