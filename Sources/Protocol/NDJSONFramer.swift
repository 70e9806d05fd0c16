/// Newline-delimited JSON: one JSON text per line (`\n`, `\r\n` tolerated), for shell scripts.
///
/// Blank lines are skipped. A line longer than `maxMessageBytes` yields one `.error(.tooLarge)` and the
/// rest of it is discarded as it streams in, never buffered.
public struct NDJSONFramer: MessageFramer {
    private let maxMessageBytes: Int
    private var buffer = ByteBuffer()
    /// Offset from the read index up to which the buffer is known to hold no newline.
    private var scanned = 0
    private var discardingLine = false

    public init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
    }

    public var bufferedByteCount: Int { buffer.readableCount }

    public var hasPartialFrame: Bool {
        discardingLine || buffer.slice(0..<buffer.readableCount).contains { !Self.isBlank($0) }
    }

    public static func encode(_ body: [UInt8]) -> [UInt8] {
        var framed = body
        framed.append(UInt8(ascii: "\n"))
        return framed
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard discardingLine else {
            buffer.append(bytes)
            return
        }
        // Skip the rest of an oversized line without holding it.
        guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return }
        discardingLine = false
        buffer.append(UnsafeRawBufferPointer(rebasing: bytes[(newline + 1)...]))
    }

    public mutating func nextFrame() -> FrameEvent? {
        while !discardingLine {
            guard let newline = buffer.firstIndex(of: UInt8(ascii: "\n"), from: scanned) else {
                scanned = buffer.readableCount
                if buffer.readableCount > maxMessageBytes {
                    buffer.consume(buffer.readableCount)
                    scanned = 0
                    discardingLine = true
                    return .error(.tooLarge)
                }
                return nil
            }
            var line = buffer.read(newline + 1)
            scanned = 0
            line.removeLast()
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if line.allSatisfy(Self.isBlank) { continue }
            if line.count > maxMessageBytes { return .error(.tooLarge) }
            return .frame(line)
        }
        return nil
    }

    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
            || byte == UInt8(ascii: "\n")
    }
}
