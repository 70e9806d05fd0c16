import JSONRPC

/// Feeds `chunks` to a new framer and returns every event, as a reader thread would see them.
public func frameEvents<F: MessageFramer>(_ type: F.Type, _ chunks: [[UInt8]], maxMessageBytes: Int = 1 << 20)
    -> [FrameEvent]
{
    var framer = F(maxMessageBytes: maxMessageBytes)
    var events: [FrameEvent] = []
    for chunk in chunks {
        framer.feed(chunk)
        events += framer.drain()
    }
    return events
}

/// The ways to cut `input` that a framer must not notice: whole, byte by byte, and every two-way split.
public func everySplit(of input: [UInt8]) -> [[[UInt8]]] {
    var splits: [[[UInt8]]] = [[input], input.map { [$0] }]
    for cut in 0...input.count { splits.append([Array(input[..<cut]), Array(input[cut...])]) }
    return splits
}
