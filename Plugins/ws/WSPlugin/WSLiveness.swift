import EnvelopeTransport
import KernelSDK
import NIOCore

/// The `[ws]` section: the envelope transport's keys, plus pings and compression.
struct WSSettings: Sendable {
    var envelope: EnvelopeSettings
    var liveness: WSLiveness
    /// permessage-deflate is offered to clients that ask (`deflate = on|off`).
    var deflate = true
    /// Messages shorter than this are sent uncompressed (`deflate_min_size`).
    var deflateMinimumSize = 128

    init(_ kernel: PluginContext) throws(PluginError) {
        envelope = try EnvelopeSettings(kernel, defaultPort: 8082, sizeKey: "max_message_size")
        let interval = kernel.config("ping_interval_ms", default: Duration.seconds(30))
        liveness = WSLiveness(pingInterval: interval > .zero ? interval.timeAmount : nil,
                              pongTimeout: max(.milliseconds(10), kernel.config("pong_timeout_ms", default: Duration.seconds(10))).timeAmount,
                              idleTimeout: envelope.idleTimeout.timeAmount)
        if let value = kernel.config("deflate") {
            guard ["on", "off", "true", "false"].contains(value.lowercased()) else {
                throw PluginError.invalidArgument("ws.deflate must be on or off, got '\(value)'")
            }
            deflate = ["on", "true"].contains(value.lowercased())
        }
        deflateMinimumSize = max(0, kernel.config("deflate_min_size", default: deflateMinimumSize))
    }
}

/// Whether a WebSocket connection is alive and in use: the server pings the
/// peer every `pingInterval` (nil: never) and drops it when no pong comes
/// back within `pongTimeout` (a dead peer, or a network that lost it); a
/// connection with no message either way for `idleTimeout` and no call in
/// flight is closed. Pings and pongs do not count as traffic for the idle
/// clock, so pinging keeps dead peers out without keeping idle ones in.
struct WSLiveness: Sendable {
    var pingInterval: TimeAmount?
    var pongTimeout: TimeAmount
    var idleTimeout: TimeAmount

    /// How often the connection's timer checks.
    var tick: TimeAmount {
        let shortest = min(pingInterval ?? idleTimeout, pongTimeout, idleTimeout)
        return .nanoseconds(max(TimeAmount.milliseconds(10).nanoseconds, min(shortest.nanoseconds / 4, TimeAmount.seconds(1).nanoseconds)))
    }

    /// One connection's times. Event loop only.
    struct Clock {
        var lastTraffic: NIODeadline
        var lastPing: NIODeadline
        var outstanding: (payload: UInt64, sent: NIODeadline)?
        var nextPayload: UInt64 = 1

        init(now: NIODeadline) {
            lastTraffic = now
            lastPing = now
        }

        /// A message came in or went out.
        mutating func traffic(at now: NIODeadline) { lastTraffic = now }

        /// A pong with `payload` came in.
        mutating func pong(_ payload: UInt64) {
            if outstanding?.payload == payload { outstanding = nil }
        }
    }

    enum Verdict: Equatable {
        case nothing
        case ping(UInt64)
        case idle
        case dead
    }

    func check(_ clock: inout Clock, now: NIODeadline, callsInFlight: Bool) -> Verdict {
        if let outstanding = clock.outstanding, now - outstanding.sent >= pongTimeout { return .dead }
        if !callsInFlight && now - clock.lastTraffic >= idleTimeout { return .idle }
        if let pingInterval, clock.outstanding == nil, now - clock.lastPing >= pingInterval {
            let payload = clock.nextPayload
            clock.nextPayload &+= 1
            clock.outstanding = (payload, now)
            clock.lastPing = now
            return .ping(payload)
        }
        return .nothing
    }
}
