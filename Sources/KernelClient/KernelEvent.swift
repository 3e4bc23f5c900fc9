import Foundation

/// One event of the pubsub log, as a subscription delivers it. Payload and
/// context stay the JSON bytes the server sent: decode them when needed.
///
/// A value: safe to pass between tasks.
public struct KernelEvent: Sendable {
    /// Its place in the log; increases along a subscription, never repeats.
    /// 0 for a topic the log does not keep: delivered live only, never replayed.
    public let offset: UInt64
    /// The event's own identity (the publisher's, not the subscription's).
    public let id: String
    public let topic: String
    /// When it was published, in RFC 3339 (`2026-12-01T10:00:03.120Z`).
    public let createdAt: String
    /// Who published it: a plugin's name, or the transport of a remote client.
    public let publisher: String
    /// The published JSON value.
    public let payload: JSONBody
    /// Whom it concerns (user, tenant, request id, headers): a JSON object.
    public let context: JSONBody

    public init(offset: UInt64, id: String, topic: String, createdAt: String, publisher: String,
                payload: JSONBody, context: JSONBody) {
        self.offset = offset
        self.id = id
        self.topic = topic
        self.createdAt = createdAt
        self.publisher = publisher
        self.payload = payload
        self.context = context
    }
}

/// What a subscription yields: an event, or word that events were missed.
/// A value: safe to pass between tasks.
///
/// ```swift
/// for try await case .event(let event) in subscription { … }   // events only
/// ```
public enum SubscriptionItem: Sendable {
    case event(KernelEvent)
    /// Events between the last one yielded and the next were lost (the
    /// log no longer kept them, or the server dropped them for a slow
    /// reader with overflow `.drop`). Iteration goes on after it.
    case gap(SubscriptionGap)
}

/// Events a subscription could not deliver. A value: safe from any task.
public struct SubscriptionGap: Sendable, Equatable {
    /// Where the log resumes, when the events were lost to retention (the
    /// log no longer kept the events after `since`).
    public let oldest: UInt64?
    /// How many events were lost, when the server counted them (dropped for a slow reader).
    public let dropped: UInt64?

    public init(oldest: UInt64?, dropped: UInt64?) {
        self.oldest = oldest
        self.dropped = dropped
    }
}

/// Where a subscription starts in the log; without one, with the events
/// published from now on. A value: safe from any task.
public struct SubscriptionStart: Sendable, Equatable {
    /// The JSON value sent as `since`.
    let json: String
    /// The offset, for SSE's `Last-Event-ID`; nil for a time.
    let offset: UInt64?

    /// With the events after this offset: give the offset of the last event seen to resume after it.
    public static func offset(_ offset: UInt64) -> SubscriptionStart {
        SubscriptionStart(json: String(offset), offset: offset)
    }

    /// From the events published at or after `date`.
    public static func time(_ date: Date) -> SubscriptionStart {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return time(formatter.string(from: date))
    }

    /// From a time written in RFC 3339 (`2026-12-01T10:00:00Z`), passed on as is: the server judges it.
    public static func time(_ rfc3339: String) -> SubscriptionStart {
        let encoded = (try? JSONSerialization.data(withJSONObject: rfc3339, options: .fragmentsAllowed))
            .map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
        return SubscriptionStart(json: encoded, offset: nil)
    }

    /// The value as text (an offset's digits, or the time), for a URL query.
    var text: String {
        if let offset { return String(offset) }
        return (try? JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed) as? String) ?? ""
    }
}

/// What the server does when a subscriber reads slower than events arrive.
/// A value: safe from any task.
public enum SubscriptionOverflow: String, Sendable {
    /// End the subscription with `unavailable` (`slow_consumer`);
    /// `KernelClient.subscribe` then resumes from the last event it yielded.
    case disconnect
    /// Skip events and tell with a `.gap`.
    case drop
}
