/// The close codes this server sends (RFC 6455 section 7.4.1), and which
/// codes a client may send.
enum CloseCode: UInt16 {
    case normal = 1000
    /// Idle timeout, or the transport is stopping (reload, shutdown).
    case goingAway = 1001
    /// Anything RFC 6455 forbids: unmasked or reserved bits, bad opcodes, bad fragmentation, bad close frames.
    case protocolError = 1002
    /// Binary messages: the envelope is text.
    case unsupportedData = 1003
    /// Invalid UTF-8 in a text message or a close reason.
    case invalidPayload = 1007
    /// A message larger than `max_message_size`.
    case messageTooBig = 1009

    /// Whether a client may put `code` in a close frame: the codes defined
    /// for the wire, and the ranges for libraries and applications.
    static func isAllowedFromPeer(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: true
        default: false
        }
    }
}
