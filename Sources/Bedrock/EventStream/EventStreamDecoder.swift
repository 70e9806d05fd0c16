/// Turns the bytes of an event-stream body into messages, however the bytes are split into chunks.
///
/// A message is `[total length u32][headers length u32][prelude CRC u32][headers][payload][message CRC u32]`,
/// all big-endian. The decoder keeps unread bytes in one buffer with a read index and compacts it only
/// when the consumed prefix is large, so neither byte-at-a-time feeding nor large chunks copy
/// quadratically. After it has thrown once it stays failed: a stream that lost sync cannot be trusted.
public struct EventStreamDecoder: Sendable {
    public static let preludeLength = 12
    public static let maxHeadersLength = 128 * 1024
    public static let maxPayloadLength = 24 * 1024 * 1024

    private let maxMessageBytes: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var failure: EventStreamError?

    public init(maxMessageBytes: Int = 24 << 20 + 128 << 10) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// True when bytes of an unfinished message are buffered: at the end of a body, a truncated stream.
    public var hasPartialMessage: Bool { buffer.count > readIndex }

    /// Consumes `bytes` and returns every message they complete, in order.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(EventStreamError) -> [EventStreamMessage] {
        var messages: [EventStreamMessage] = []
        try feed(bytes) { view in
            messages.append(view.message)
            return true
        }
        return messages
    }

    /// Consumes `bytes` and hands each message they complete to `body` as a view into the bytes, in order,
    /// without copying it; `body` returns false to stop (the rest of the input is then not decoded).
    /// Returns false when `body` stopped.
    @discardableResult
    public mutating func feed(
        _ bytes: UnsafeRawBufferPointer, _ body: (EventStreamMessageView) -> Bool
    ) throws(EventStreamError) -> Bool {
        if let failure { throw failure }
        do throws(EventStreamError) {
            if buffer.count == readIndex {
                // Fast path: decode whole messages straight from the chunk, buffer only the tail.
                let (offset, stopped) = try Self.decodeAll(bytes, from: 0, limit: maxMessageBytes, body)
                buffer.removeAll(keepingCapacity: true)
                readIndex = 0
                if stopped { return false }
                if offset < bytes.count { buffer.append(contentsOf: bytes[offset...]) }
                return true
            }
            buffer.append(contentsOf: bytes)
            let start = readIndex
            let limit = maxMessageBytes
            // withUnsafeBytes only rethrows untyped errors, so the loop reports through a Result.
            let outcome = buffer.withUnsafeBytes { raw -> Result<(Int, Bool), EventStreamError> in
                do throws(EventStreamError) {
                    return .success(try Self.decodeAll(raw, from: start, limit: limit, body))
                } catch {
                    return .failure(error)
                }
            }
            let (newIndex, stopped) = try outcome.get()
            readIndex = newIndex
            if readIndex == buffer.count {
                buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
                readIndex = 0
            } else if readIndex > 64 * 1024 && readIndex * 2 > buffer.count {
                buffer.removeFirst(readIndex)
                readIndex = 0
            }
            return !stopped
        } catch {
            failure = error
            throw error
        }
    }

    /// Hands every whole message from `offset` on to `body`; returns where the unread bytes start and
    /// whether `body` asked to stop.
    private static func decodeAll(
        _ raw: UnsafeRawBufferPointer, from offset: Int, limit: Int, _ body: (EventStreamMessageView) -> Bool
    ) throws(EventStreamError) -> (Int, Bool) {
        var index = offset
        while let (view, length) = try decodeOne(raw, from: index, limit: limit) {
            index += length
            if !body(view) { return (index, true) }
        }
        return (index, false)
    }

    /// Checks the message starting at `offset` (lengths, both checksums, the headers' structure) and
    /// returns a view of it, or nil when it is not complete yet.
    private static func decodeOne(
        _ raw: UnsafeRawBufferPointer, from offset: Int, limit: Int
    ) throws(EventStreamError) -> (EventStreamMessageView, Int)? {
        let available = raw.count - offset
        guard available >= preludeLength else { return nil }
        let totalLength = Int(readUInt32(raw, offset))
        let headersLength = Int(readUInt32(raw, offset + 4))
        let preludeCRC = readUInt32(raw, offset + 8)
        let computedPrelude = CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + 8]))
        guard computedPrelude == preludeCRC else {
            throw EventStreamError(message: "prelude checksum mismatch")
        }
        guard totalLength >= preludeLength + 4 else {
            throw EventStreamError(message: "message length \(totalLength) is shorter than the minimum 16 bytes")
        }
        guard totalLength <= limit else {
            throw EventStreamError(message: "message length \(totalLength) exceeds the limit of \(limit) bytes")
        }
        guard headersLength <= maxHeadersLength, headersLength <= totalLength - preludeLength - 4 else {
            throw EventStreamError(message: "headers length \(headersLength) does not fit the message")
        }
        let payloadLength = totalLength - preludeLength - 4 - headersLength
        guard payloadLength <= maxPayloadLength else {
            throw EventStreamError(message: "payload of \(payloadLength) bytes exceeds the 24 MiB limit")
        }
        guard available >= totalLength else { return nil }

        // The message checksum covers the prelude too: continue from the prelude's.
        let messageCRC = readUInt32(raw, offset + totalLength - 4)
        let computed = CRC32.checksum(
            UnsafeRawBufferPointer(rebasing: raw[offset + 8..<offset + totalLength - 4]), seed: computedPrelude)
        guard computed == messageCRC else { throw EventStreamError(message: "message checksum mismatch") }

        let headersStart = offset + preludeLength
        let headerBytes = UnsafeRawBufferPointer(rebasing: raw[headersStart..<headersStart + headersLength])
        let payloadStart = headersStart + headersLength
        let payload = UnsafeRawBufferPointer(rebasing: raw[payloadStart..<payloadStart + payloadLength])
        return (try EventStreamMessageView(checking: headerBytes, payload: payload), totalLength)
    }

    @inline(__always)
    static func readUInt32(_ raw: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(raw[offset]) << 24 | UInt32(raw[offset + 1]) << 16 | UInt32(raw[offset + 2]) << 8
            | UInt32(raw[offset + 3])
    }
}

/// Writes event-stream messages; used by tests, the benchmarks and anything that needs to produce a stream.
public enum EventStreamEncoder {
    public static func encode(_ message: EventStreamMessage) -> [UInt8] {
        var headerBytes: [UInt8] = []
        for header in message.headers {
            let name = Array(header.name.utf8)
            headerBytes.append(UInt8(truncatingIfNeeded: name.count))
            headerBytes += name
            switch header.value {
            case .bool(let b): headerBytes.append(b ? 0 : 1)
            case .int8(let v): headerBytes += [2, UInt8(bitPattern: v)]
            case .int16(let v): headerBytes += [3] + bigEndian(UInt64(UInt16(bitPattern: v)), 2)
            case .int32(let v): headerBytes += [4] + bigEndian(UInt64(UInt32(bitPattern: v)), 4)
            case .int64(let v): headerBytes += [5] + bigEndian(UInt64(bitPattern: v), 8)
            case .bytes(let b): headerBytes += [6] + bigEndian(UInt64(b.count), 2) + b
            case .string(let s):
                let utf8 = Array(s.utf8)
                headerBytes += [7] + bigEndian(UInt64(utf8.count), 2) + utf8
            case .timestamp(let v): headerBytes += [8] + bigEndian(UInt64(bitPattern: v), 8)
            case .uuid(let b): headerBytes += [9] + b
            }
        }
        let total = 12 + headerBytes.count + message.payload.count + 4
        var out: [UInt8] = []
        out.reserveCapacity(total)
        out += bigEndian(UInt64(total), 4) + bigEndian(UInt64(headerBytes.count), 4)
        out += bigEndian(UInt64(CRC32.checksum(out)), 4)
        out += headerBytes
        out += message.payload
        out += bigEndian(UInt64(CRC32.checksum(out)), 4)
        return out
    }

    private static func bigEndian(_ value: UInt64, _ width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64(width - 1 - $0))) }
    }
}
