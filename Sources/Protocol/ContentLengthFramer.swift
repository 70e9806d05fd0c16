/// LSP framing: header lines (`Content-Length: N` required, `Content-Type` and unknown
/// headers ignored, names case-insensitive), each ending in `\r\n` or a bare `\n`, a
/// blank line, then exactly N bytes of body.
///
/// Malformed input yields one `.error` and the framer resynchronises: it skips to the
/// next `Content-Length:` (case-insensitive). It looks for it anywhere, not only at a
/// line start, because an LSP body has no line end: after a bad header block the next
/// frame's header follows the skipped body on the same line. A body longer than
/// `maxMessageBytes` yields `.error(.tooLarge)` and its N bytes are skipped as they
/// arrive, never buffered.
public struct ContentLengthFramer: MessageFramer {
    /// Longest header block accepted, including line ends.
    public static let maxHeaderBytes = 8 << 10

    private enum Phase: Sendable {
        /// Reading header lines of a frame.
        case header
        /// Waiting for `length` body bytes.
        case body(length: Int)
        /// Skipping the body of a frame that is too large.
        case skippingBody(remaining: Int)
        /// Skipping to the next `Content-Length:` after an error.
        case resynchronising
    }

    public let maxMessageBytes: Int
    private var buffer = ByteBuffer()
    private var phase = Phase.header
    /// Of the header block being read: its Content-Length, its bytes so far, whether a
    /// header line was seen (blank lines before the first header are skipped).
    private var contentLength: Int?
    private var headerBytes = 0
    private var sawHeaderLine = false
    /// Readable bytes already searched for a line end; a line fed byte by byte is scanned once.
    private var scannedBytes = 0

    public init(maxMessageBytes: Int) {
        self.maxMessageBytes = max(0, maxMessageBytes)
    }

    public var bufferedByteCount: Int { buffer.readableCount }

    public var hasPartialFrame: Bool {
        switch phase {
        case .body, .skippingBody: return true
        case .resynchronising: return false
        case .header: return sawHeaderLine || buffer.slice(0..<buffer.readableCount).contains { !Self.isBlank($0) }
        }
    }

    /// The header that goes before a body of `length` bytes.
    public static func header(length: Int) -> [UInt8] {
        Array("Content-Length: \(length)\r\n\r\n".utf8)
    }

    public static func encode(_ body: [UInt8]) -> [UInt8] {
        var frame = Array("Content-Length: \(body.count)\r\n\r\n".utf8)
        frame.reserveCapacity(frame.count + body.count)
        frame.append(contentsOf: body)
        return frame
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        var bytes = bytes
        if case .skippingBody(let remaining) = phase, buffer.isEmpty {
            let skipped = min(remaining, bytes.count)
            bytes = UnsafeRawBufferPointer(rebasing: bytes[skipped...])
            phase = remaining == skipped ? .header : .skippingBody(remaining: remaining - skipped)
        }
        buffer.append(bytes)
        if case .resynchronising = phase { _ = resynchronise() }
    }

    public mutating func nextFrame() -> FrameEvent? {
        while true {
            switch phase {
            case .resynchronising:
                guard resynchronise() else { return nil }
            case .body(let length):
                guard buffer.readableCount >= length else { return nil }
                phase = .header
                return .frame(buffer.read(length))
            case .skippingBody(let remaining):
                let skipped = min(remaining, buffer.readableCount)
                buffer.consume(skipped)
                guard remaining == skipped else {
                    phase = .skippingBody(remaining: remaining - skipped)
                    return nil
                }
                phase = .header
            case .header:
                guard let lineEnd = buffer.firstIndex(of: UInt8(ascii: "\n"), from: scannedBytes) else {
                    scannedBytes = buffer.readableCount
                    guard headerBytes + scannedBytes > Self.maxHeaderBytes else { return nil }
                    // Drop the overlong line; the rest of it is searched as it streams in.
                    buffer.consume(buffer.readableCount)
                    return fail(.headerTooLong)
                }
                if let event = headerLine(lineEnd: lineEnd) { return event }
            }
        }
    }

    /// Takes the header line that ends at offset `lineEnd` (the `\n`). Returns an event
    /// when the line ends the frame's header with an error.
    private mutating func headerLine(lineEnd: Int) -> FrameEvent? {
        var line = buffer.slice(0..<lineEnd)
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        buffer.consume(lineEnd + 1)
        scannedBytes = 0
        if line.isEmpty {
            guard sawHeaderLine else { return nil }
            let length = contentLength
            resetHeader()
            guard let length else { return fail(.missingContentLength) }
            guard length <= maxMessageBytes else {
                phase = .skippingBody(remaining: length)
                return .error(.tooLarge)
            }
            phase = .body(length: length)
            return nil
        }
        headerBytes += lineEnd + 1
        guard headerBytes <= Self.maxHeaderBytes else { return fail(.headerTooLong) }
        sawHeaderLine = true
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            return fail(.malformedHeader(FramingError.excerpt(line)))
        }
        let name = line[..<colon]
        guard !name.isEmpty, name.allSatisfy(Self.isTokenByte) else {
            return fail(.malformedHeader(FramingError.excerpt(line)))
        }
        guard Self.equalsIgnoringCase(name, Self.contentLengthName) else { return nil }
        let value = Self.trimmed(line[(colon + 1)...])
        guard let length = Self.decimal(value) else {
            return fail(.invalidContentLength(FramingError.excerpt(value)))
        }
        if let contentLength, contentLength != length {
            return fail(.invalidContentLength("two values differ: \(contentLength) and \(length)"))
        }
        contentLength = length
        return nil
    }

    private mutating func fail(_ error: FramingError) -> FrameEvent {
        resetHeader()
        phase = .resynchronising
        _ = resynchronise()
        return .error(error)
    }

    private mutating func resetHeader() {
        contentLength = nil
        headerBytes = 0
        sawHeaderLine = false
        scannedBytes = 0
    }

    /// Skips to the next `Content-Length:`; true when found (the phase is then `.header`).
    /// Keeps only a possible prefix of it at the end of the buffer.
    private mutating func resynchronise() -> Bool {
        let pattern = Self.contentLengthPattern
        let count = buffer.readableCount
        var start = 0
        while start + pattern.count <= count {
            if buffer[start] | 0x20 == pattern[0],
                Self.equalsIgnoringCase(buffer.slice(start..<start + pattern.count), pattern)
            {
                buffer.consume(start)
                phase = .header
                return true
            }
            start += 1
        }
        // No full match: keep the tail that could still begin one.
        var keep = min(count, pattern.count - 1)
        while keep > 0 && !Self.equalsIgnoringCase(buffer.slice(count - keep..<count), pattern[0..<keep]) {
            keep -= 1
        }
        buffer.consume(count - keep)
        return false
    }

    private static let contentLengthName = Array("content-length".utf8)
    private static let contentLengthPattern = Array("content-length:".utf8)

    /// ASCII case-insensitive comparison against a lowercase `pattern`.
    private static func equalsIgnoringCase(_ bytes: some Collection<UInt8>, _ pattern: some Collection<UInt8>) -> Bool {
        guard bytes.count == pattern.count else { return false }
        return zip(bytes, pattern).allSatisfy { byte, lower in
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            return folded == lower
        }
    }

    /// RFC 9110 token characters, what a header name is made of.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
            || byte == UInt8(ascii: "\n")
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { return bytes[bytes.endIndex...] }
        let last = bytes.lastIndex(where: { !isSpace($0) })!
        return bytes[first...last]
    }

    /// A non-empty run of decimal digits that fits in an Int.
    private static func decimal(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }
}
