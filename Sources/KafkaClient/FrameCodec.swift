import NIOCore

/// Splits the byte stream from a broker into frames: a big-endian int32 size,
/// then that many bytes (the correlation id, the header's tagged fields, the
/// body). A size below 4 or above `maximumBytes` closes the connection before
/// anything is allocated for it.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    let maximumBytes: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return .needMoreData }
        guard size >= 4, Int(size) <= maximumBytes else { throw ConnectionFailure.oversizedFrame(Int(size)) }
        guard buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(Self.wrapInboundOut(buffer.readSlice(length: Int(size))!))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// Matches each response frame to the request that is waiting for it. Kafka
/// answers a connection's requests in the order they were sent, so a
/// response for any other correlation id than the oldest outstanding one
/// means the peer is broken: every waiting request fails and the connection
/// closes. Lives on the channel's event loop; reached from other threads
/// only through `NIOLoopBound`.
final class ResponseRouter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var waiting: [(correlationId: Int32, promise: EventLoopPromise<[UInt8]>)] = []
    private var failure: ConnectionFailure?
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Registers a request about to be written; fails it at once on a dead connection.
    func expect(_ correlationId: Int32, _ promise: EventLoopPromise<[UInt8]>) {
        if let failure { return promise.fail(failure) }
        waiting.append((correlationId, promise))
    }

    /// A request's time is up: responses come in order, so nothing after it
    /// can arrive either, and the connection is given up.
    func timeOut(_ correlationId: Int32) {
        guard let context, waiting.contains(where: { $0.correlationId == correlationId }) else { return }
        fail(.timedOut, context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        guard let correlationId = frame.getInteger(at: frame.readerIndex, as: Int32.self), let first = waiting.first,
            first.correlationId == correlationId
        else {
            let received = frame.getInteger(at: frame.readerIndex, as: Int32.self) ?? -1
            return fail(.unexpectedCorrelation(received), context: context)
        }
        waiting.removeFirst()
        first.promise.succeed(frame.readBytes(length: frame.readableBytes) ?? [])
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.closed, context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(error as? ConnectionFailure ?? .closed, context: context)
    }

    /// Fails every waiting request (and any sent later) and closes the connection:
    /// closed first, so that whoever a failed request wakes finds it closed.
    func fail(_ reason: ConnectionFailure, context: ChannelHandlerContext) {
        if failure == nil { failure = reason }
        context.close(promise: nil)
        let failed = waiting
        waiting.removeAll()
        for entry in failed { entry.promise.fail(failure ?? reason) }
    }
}
