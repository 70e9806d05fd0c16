/// Cuts a byte stream into message bodies. A state machine: it may be fed any split
/// of its input, down to one byte at a time, and yields the same events.
///
/// Use: `feed` what was read, then call `nextFrame` until it returns nil. Memory stays
/// within `maxMessageBytes` plus a small constant plus one fed chunk, whatever the
/// input claims; bytes that are being skipped are never buffered.
public protocol MessageFramer: Sendable {
    init(maxMessageBytes: Int)
    mutating func feed(_ bytes: UnsafeRawBufferPointer)
    /// The next frame or framing error; nil when more bytes are needed.
    mutating func nextFrame() -> FrameEvent?
    /// One body, framed for the wire.
    static func encode(_ body: [UInt8]) -> [UInt8]
    /// Bytes held for an incomplete frame (tests assert memory stays bounded with it).
    var bufferedByteCount: Int { get }
    /// True when the input stopped in the middle of a frame: at end of input the
    /// last message was truncated.
    var hasPartialFrame: Bool { get }
}

extension MessageFramer {
    /// 64 MiB: room for a chat turn with several images or documents, base64-encoded.
    public static var defaultMaxMessageBytes: Int { 64 << 20 }

    public init() { self.init(maxMessageBytes: Self.defaultMaxMessageBytes) }

    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Every event the bytes fed so far complete.
    public mutating func drain() -> [FrameEvent] {
        var events: [FrameEvent] = []
        while let event = nextFrame() { events.append(event) }
        return events
    }
}

public enum FrameEvent: Sendable, Equatable {
    /// One message body, not yet parsed.
    case frame([UInt8])
    /// The input was malformed here; the framer has skipped ahead and goes on.
    /// No request id is known, so there is nothing to answer; log it.
    case error(FramingError)
}

public enum FramingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A header block ended without `Content-Length`.
    case missingContentLength
    /// `Content-Length` is not a non-negative decimal that fits in an Int, or two differ.
    case invalidContentLength(String)
    /// A header line is not `Name: value`.
    case malformedHeader(String)
    /// The header block is longer than `ContentLengthFramer.maxHeaderBytes`.
    case headerTooLong
    /// A message is longer than `maxMessageBytes`; its bytes were skipped.
    case tooLarge

    public var message: String {
        switch self {
        case .missingContentLength: return "header block without a Content-Length header"
        case .invalidContentLength(let value): return "invalid Content-Length: \(value)"
        case .malformedHeader(let line): return "malformed header line: \(line)"
        case .headerTooLong: return "header block longer than \(ContentLengthFramer.maxHeaderBytes) bytes"
        case .tooLarge: return "message larger than the maximum message size; skipped"
        }
    }

    public var description: String { message }

    /// Input shown in a message: printable ASCII, at most 64 bytes, the rest escaped or cut.
    static func excerpt(_ bytes: some Collection<UInt8>) -> String {
        var text = ""
        for byte in bytes.prefix(64) {
            if byte >= 0x20 && byte < 0x7F {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return bytes.count > 64 ? "'\(text)'..." : "'\(text)'"
    }
}

/// A growable byte buffer with a read index: consuming is O(1), and the consumed
/// prefix is dropped only when it is at least half the storage, so every byte is
/// moved at most a constant number of times however the input is split.
struct ByteBuffer: Sendable {
    private(set) var storage: [UInt8] = []
    private(set) var readIndex = 0

    var readableCount: Int { storage.count - readIndex }
    var isEmpty: Bool { readIndex == storage.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        compact()
        storage.append(contentsOf: bytes)
    }

    /// Drops `count` readable bytes.
    mutating func consume(_ count: Int) {
        precondition(count <= readableCount)
        readIndex += count
        if readIndex == storage.count { compact() }
    }

    /// Takes `count` readable bytes out (the storage itself when they are all of it: a large frame is not
    /// copied).
    mutating func read(_ count: Int) -> [UInt8] {
        if readIndex == 0 && count == storage.count {
            var whole: [UInt8] = []
            swap(&whole, &storage)
            return whole
        }
        let bytes = Array(storage[readIndex..<readIndex + count])
        consume(count)
        return bytes
    }

    subscript(offset: Int) -> UInt8 { storage[readIndex + offset] }

    /// Readable bytes `range`, given as offsets from the read index.
    func slice(_ range: Range<Int>) -> ArraySlice<UInt8> {
        storage[(readIndex + range.lowerBound)..<(readIndex + range.upperBound)]
    }

    /// Offset from the read index of the first `byte` at or after offset `from`.
    func firstIndex(of byte: UInt8, from: Int) -> Int? {
        storage.withUnsafeBufferPointer { buffer in
            var index = readIndex + from
            while index < buffer.count {
                if buffer[index] == byte { return index - readIndex }
                index += 1
            }
            return nil
        }
    }

    private mutating func compact() {
        if readIndex == storage.count {
            // A big frame's capacity is released rather than kept for the life of the connection.
            storage.removeAll(keepingCapacity: storage.capacity <= 64 << 10)
            readIndex = 0
        } else if readIndex > 0 && readIndex >= storage.count / 2 {
            storage.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}
