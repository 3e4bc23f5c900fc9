import EnvelopeTransport
import KernelTransport
import NIOCore
import NIOHTTP1

/// Answers HTTP requests that are not a WebSocket upgrade: `GET /healthz`
/// is 200, anything else 426 (Upgrade Required). Removed by the upgrade.
final class PlainHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            let healthy = head.uri == "/healthz" && head.method == .GET
            respond(context, head, status: healthy ? .ok : .upgradeRequired,
                    body: healthy ? #"{"status":"ok"}"#
                        : #"{"error":{"code":"invalid_argument","message":"this port speaks WebSocket: send an upgrade request","details":{}}}"#)
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ request: HTTPRequestHead, status: HTTPResponseStatus, body: String) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(body.utf8.count))
        if status != .ok {
            headers.add(name: "upgrade", value: "websocket")
            headers.add(name: "connection", value: "close")
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let channel = context.channel
        let close = status != .ok || !request.isKeepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in if close { channel.close(promise: nil) } }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Before the upgrade there is no call to finish: idle or stopping means close.
        if event is QuiesceEvent || event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
