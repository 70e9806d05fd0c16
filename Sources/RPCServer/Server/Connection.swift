import Basics
import Glibc
import JSONRPC

public enum Framing: String, Sendable, CaseIterable {
    case lsp
    case ndjson

    /// A message body framed for the wire, as pieces written back to back. A large body is not copied; a
    /// small one is joined with its framing into one piece, since every queued piece costs an allocation.
    func frame(_ body: [[UInt8]]) -> [[UInt8]] {
        let length = body.reduce(0) { $0 + $1.count }
        let pieces: [[UInt8]]
        switch self {
        case .lsp: pieces = [ContentLengthFramer.header(length: length)] + body
        case .ndjson: pieces = body + [[UInt8(ascii: "\n")]]
        }
        guard length <= Self.joinLimit else { return pieces }
        var joined: [UInt8] = []
        joined.reserveCapacity(length + 32)
        for piece in pieces { joined.append(contentsOf: piece) }
        return [joined]
    }

    private static let joinLimit = 16 << 10
}

/// Cuts input bytes into frames and hands each to a dispatcher, in order. Both connections read through
/// it, so the pipe and the in-memory connection behave alike.
protocol FrameFeeding {
    /// Feeds bytes and dispatches every frame they complete (blocking while the dispatcher is full).
    mutating func feed(_ bytes: UnsafeRawBufferPointer)
    /// True when the input stopped inside a frame.
    var hasPartialFrame: Bool { get }
}

struct FrameReader<Framer: MessageFramer>: FrameFeeding {
    private var framer: Framer
    /// Where frames go. Held weakly by the in-memory connection, which the dispatcher holds as its output.
    private let deliver: (FrameEvent) -> Void

    init(_ framer: Framer, dispatcher: Dispatcher) {
        self.framer = framer
        deliver = { event in Self.deliver(event, to: dispatcher) }
    }

    init(_ framer: Framer, weak dispatcher: Dispatcher) {
        self.framer = framer
        deliver = { [weak dispatcher] event in
            if let dispatcher { Self.deliver(event, to: dispatcher) }
        }
    }

    private static func deliver(_ event: FrameEvent, to dispatcher: Dispatcher) {
        switch event {
        case .frame(let body): dispatcher.receive(body)
        case .error(let error): dispatcher.receive(framingError: error)
        }
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        framer.feed(bytes)
        while let event = framer.nextFrame() { deliver(event) }
    }

    var hasPartialFrame: Bool { framer.hasPartialFrame }
}

extension Framing {
    /// A reader for this framing that feeds `dispatcher`, holding it weakly (for a connection the dispatcher
    /// itself holds, which would otherwise keep both alive for good).
    func reader(maxMessageBytes: Int, weak dispatcher: Dispatcher) -> any FrameFeeding {
        switch self {
        case .lsp: return FrameReader(ContentLengthFramer(maxMessageBytes: maxMessageBytes), weak: dispatcher)
        case .ndjson: return FrameReader(NDJSONFramer(maxMessageBytes: maxMessageBytes), weak: dispatcher)
        }
    }
}

/// JSON-RPC over a pair of file descriptors (stdin and stdout for `contenox serve`): a reader thread
/// blocks in read(2) and feeds the dispatcher; one `OutputWriter` owns the output.
final class FileDescriptorConnection: MessageOutput {
    private let input: Int32
    private let framing: Framing
    private let writer: OutputWriter

    /// `onClose` runs when writing fails (the peer is gone).
    init(input: Int32, output: Int32, framing: Framing, onClose: @escaping @Sendable () -> Void) {
        self.input = input
        self.framing = framing
        writer = OutputWriter(fd: output, onClose: onClose)
    }

    /// Starts the reader thread; it stops at end of input or once the dispatcher has finished.
    func startReading(into dispatcher: Dispatcher, maxMessageBytes: Int, logger: Logger) {
        DetachedThread.start(name: "contenox-stdin") { [input, framing] in
            switch framing {
            case .lsp:
                Self.readLoop(
                    input, FrameReader(ContentLengthFramer(maxMessageBytes: maxMessageBytes), dispatcher: dispatcher),
                    dispatcher, logger)
            case .ndjson:
                Self.readLoop(
                    input, FrameReader(NDJSONFramer(maxMessageBytes: maxMessageBytes), dispatcher: dispatcher),
                    dispatcher, logger)
            }
        }
    }

    /// Generic over the framer, so that its buffer is mutated in place.
    private static func readLoop<Framer: MessageFramer>(
        _ input: Int32, _ reader: FrameReader<Framer>, _ dispatcher: Dispatcher, _ logger: Logger
    ) {
        var reader = reader
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !dispatcher.isFinished {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                if reader.hasPartialFrame { logger.warn("input ended in the middle of a message") }
                logger.info("end of input")
                dispatcher.endOfInput()
                return
            }
            buffer.withUnsafeBytes { reader.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }

    func send(_ body: [[UInt8]]) async { await writer.send(framing.frame(body)) }
    func sendBlocking(_ body: [[UInt8]]) { writer.sendBlocking(framing.frame(body)) }
    func flush(timeout: Double) { writer.flush(timeout: timeout) }
}
