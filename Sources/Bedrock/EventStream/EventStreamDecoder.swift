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
        if let failure { throw failure }
        var messages: [EventStreamMessage] = []
        do throws(EventStreamError) {
            if buffer.count == readIndex {
                // Fast path: decode whole messages straight from the chunk, buffer only the tail.
                var offset = 0
                while let (message, length) = try Self.decodeOne(bytes, from: offset, limit: maxMessageBytes) {
                    messages.append(message)
                    offset += length
                }
                buffer.removeAll(keepingCapacity: true)
                readIndex = 0
                if offset < bytes.count { buffer.append(contentsOf: bytes[offset...]) }
                return messages
            }
            buffer.append(contentsOf: bytes)
            let start = readIndex
            let limit = maxMessageBytes
            // withUnsafeBytes only rethrows untyped errors, so the loop reports through a Result.
            let outcome = buffer.withUnsafeBytes { raw -> Result<([EventStreamMessage], Int), EventStreamError> in
                var decoded: [EventStreamMessage] = []
                var index = start
                do throws(EventStreamError) {
                    while let (message, length) = try Self.decodeOne(raw, from: index, limit: limit) {
                        decoded.append(message)
                        index += length
                    }
                    return .success((decoded, index))
                } catch {
                    return .failure(error)
                }
            }
            let (decoded, newIndex) = try outcome.get()
            messages = decoded
            readIndex = newIndex
            if readIndex == buffer.count {
                buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
                readIndex = 0
            } else if readIndex > 64 * 1024 && readIndex * 2 > buffer.count {
                buffer.removeFirst(readIndex)
                readIndex = 0
            }
            return messages
        } catch {
            failure = error
            throw error
        }
    }

    /// Decodes the message starting at `offset`, or returns nil when it is not complete yet.
    private static func decodeOne(
        _ raw: UnsafeRawBufferPointer, from offset: Int, limit: Int
    ) throws(EventStreamError) -> (EventStreamMessage, Int)? {
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

        let messageCRC = readUInt32(raw, offset + totalLength - 4)
        let computed = CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + totalLength - 4]))
        guard computed == messageCRC else { throw EventStreamError(message: "message checksum mismatch") }

        let headersStart = offset + preludeLength
        let headers = try decodeHeaders(raw, from: headersStart, to: headersStart + headersLength)
        let payloadStart = headersStart + headersLength
        let payload = [UInt8](UnsafeRawBufferPointer(rebasing: raw[payloadStart..<payloadStart + payloadLength]))
        return (EventStreamMessage(headers: headers, payload: payload), totalLength)
    }

    private static func decodeHeaders(
        _ raw: UnsafeRawBufferPointer, from start: Int, to end: Int
    ) throws(EventStreamError) -> [EventStreamHeader] {
        var headers: [EventStreamHeader] = []
        var index = start
        func need(_ count: Int) throws(EventStreamError) {
            guard end - index >= count else { throw EventStreamError(message: "truncated header") }
        }
        func text(_ count: Int) throws(EventStreamError) -> String {
            let bytes = UnsafeRawBufferPointer(rebasing: raw[index..<index + count])
            guard let s = String(validating: bytes, as: UTF8.self) else {
                throw EventStreamError(message: "header text is not valid UTF-8")
            }
            return s
        }
        while index < end {
            try need(1)
            let nameLength = Int(raw[index])
            index += 1
            guard nameLength > 0 else { throw EventStreamError(message: "empty header name") }
            try need(nameLength + 1)
            let name = try text(nameLength)
            index += nameLength
            let type = raw[index]
            index += 1
            let value: EventStreamHeaderValue
            switch type {
            case 0: value = .bool(true)
            case 1: value = .bool(false)
            case 2:
                try need(1)
                value = .int8(Int8(bitPattern: raw[index]))
                index += 1
            case 3:
                try need(2)
                value = .int16(Int16(bitPattern: UInt16(raw[index]) << 8 | UInt16(raw[index + 1])))
                index += 2
            case 4:
                try need(4)
                value = .int32(Int32(bitPattern: readUInt32(raw, index)))
                index += 4
            case 5, 8:
                try need(8)
                let bits = Int64(bitPattern: UInt64(readUInt32(raw, index)) << 32 | UInt64(readUInt32(raw, index + 4)))
                value = type == 5 ? .int64(bits) : .timestamp(bits)
                index += 8
            case 6, 7:
                try need(2)
                let length = Int(UInt16(raw[index]) << 8 | UInt16(raw[index + 1]))
                index += 2
                try need(length)
                if type == 6 {
                    value = .bytes([UInt8](UnsafeRawBufferPointer(rebasing: raw[index..<index + length])))
                } else {
                    value = .string(try text(length))
                }
                index += length
            case 9:
                try need(16)
                value = .uuid([UInt8](UnsafeRawBufferPointer(rebasing: raw[index..<index + 16])))
                index += 16
            default:
                throw EventStreamError(message: "unknown header value type \(type) for header '\(name)'")
            }
            headers.append(EventStreamHeader(name: name, value: value))
        }
        return headers
    }

    @inline(__always)
    private static func readUInt32(_ raw: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
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
