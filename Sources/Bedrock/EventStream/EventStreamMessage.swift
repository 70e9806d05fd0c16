/// One message of an `application/vnd.amazon.eventstream` body: typed headers and a payload.
public struct EventStreamMessage: Sendable, Equatable {
    public var headers: [EventStreamHeader]
    public var payload: [UInt8]

    public init(headers: [EventStreamHeader], payload: [UInt8]) {
        self.headers = headers
        self.payload = payload
    }

    /// The value of the first header called `name`.
    public func header(_ name: String) -> EventStreamHeaderValue? {
        headers.first { $0.name == name }?.value
    }
}

public struct EventStreamHeader: Sendable, Equatable {
    public var name: String
    public var value: EventStreamHeaderValue

    public init(name: String, value: EventStreamHeaderValue) {
        self.name = name
        self.value = value
    }
}

/// The ten header value types of the format, by their wire type numbers 0 through 9.
public enum EventStreamHeaderValue: Sendable, Equatable {
    case bool(Bool)
    case int8(Int8)
    case int16(Int16)
    case int32(Int32)
    case int64(Int64)
    case bytes([UInt8])
    case string(String)
    /// Milliseconds since the epoch.
    case timestamp(Int64)
    /// 16 bytes.
    case uuid([UInt8])

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

/// A stream that is not a valid event stream: a checksum mismatch, an impossible length, a bad header.
public struct EventStreamError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(message: String) { self.message = message }

    public var description: String { "corrupt event stream: \(message)" }
}

/// A message inside the bytes being decoded: valid only during the `EventStreamDecoder.feed` callback that
/// receives it (copy it with `message` to keep it). Its headers were checked when it was decoded, so reading
/// them here cannot fail.
public struct EventStreamMessageView {
    public let headerBytes: UnsafeRawBufferPointer
    public let payload: UnsafeRawBufferPointer
    /// The string values of `:message-type` and `:event-type`, found while checking the headers.
    private var messageType: UnsafeRawBufferPointer?
    private var eventType: UnsafeRawBufferPointer?

    /// Checks the headers' structure and text (see `forEachHeader`).
    init(checking headerBytes: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) throws(EventStreamError) {
        self.headerBytes = headerBytes
        self.payload = payload
        var messageType: UnsafeRawBufferPointer?
        var eventType: UnsafeRawBufferPointer?
        try Self.forEachHeader(in: headerBytes) { name, type, bytes in
            if type == 7 {
                if messageType == nil, Self.equal(name, ":message-type") { messageType = bytes }
                if eventType == nil, Self.equal(name, ":event-type") { eventType = bytes }
            }
            return true
        }
        self.messageType = messageType
        self.eventType = eventType
    }

    /// Whether this is an event (`:message-type` "event") of type `type`; compares bytes, allocates nothing.
    public func isEvent(_ type: StaticString) -> Bool {
        guard let messageType, let eventType else { return false }
        return Self.equal(messageType, "event") && Self.equal(eventType, type)
    }

    /// The value of the first header called `name`.
    public func header(_ name: String) -> EventStreamHeaderValue? {
        var found: EventStreamHeaderValue?
        try? Self.forEachHeader(in: headerBytes) { headerName, type, bytes in
            guard Self.equal(headerName, name) else { return true }
            found = Self.value(type: type, bytes: bytes)
            return false
        }
        return found
    }

    /// A copy that outlives the callback.
    public var message: EventStreamMessage {
        var headers: [EventStreamHeader] = []
        try? Self.forEachHeader(in: headerBytes) { name, type, bytes in
            headers.append(
                EventStreamHeader(
                    name: String(decoding: name, as: UTF8.self), value: Self.value(type: type, bytes: bytes)))
            return true
        }
        return EventStreamMessage(headers: headers, payload: [UInt8](payload))
    }

    /// Walks the headers, checking their structure and text, and calls `body` with each one's name, wire type
    /// and value bytes (a string's or byte array's without its length) until it returns false.
    static func forEachHeader(
        in raw: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, UInt8, UnsafeRawBufferPointer) -> Bool
    ) throws(EventStreamError) {
        var index = 0
        let end = raw.count
        func need(_ count: Int) throws(EventStreamError) {
            guard end - index >= count else { throw EventStreamError(message: "truncated header") }
        }
        func take(_ count: Int) -> UnsafeRawBufferPointer {
            defer { index += count }
            return UnsafeRawBufferPointer(rebasing: raw[index..<index + count])
        }
        while index < end {
            let nameLength = Int(raw[index])
            index += 1
            guard nameLength > 0 else { throw EventStreamError(message: "empty header name") }
            try need(nameLength + 1)
            let name = take(nameLength)
            try checkUTF8(name)
            let type = raw[index]
            index += 1
            let value: UnsafeRawBufferPointer
            switch type {
            case 0, 1: value = take(0)
            case 2, 3, 4, 5, 8, 9:
                let width = type == 2 ? 1 : type == 3 ? 2 : type == 4 ? 4 : type == 9 ? 16 : 8
                try need(width)
                value = take(width)
            case 6, 7:
                try need(2)
                let length = Int(UInt16(raw[index]) << 8 | UInt16(raw[index + 1]))
                index += 2
                try need(length)
                value = take(length)
                if type == 7 { try checkUTF8(value) }
            default:
                throw EventStreamError(
                    message: "unknown header value type \(type) for header '\(String(decoding: name, as: UTF8.self))'")
            }
            if !body(name, type, value) { return }
        }
    }

    private static func checkUTF8(_ bytes: UnsafeRawBufferPointer) throws(EventStreamError) {
        if bytes.allSatisfy({ $0 < 0x80 }) { return }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw EventStreamError(message: "header text is not valid UTF-8")
        }
    }

    /// The value of a header whose bytes `forEachHeader` checked.
    private static func value(type: UInt8, bytes: UnsafeRawBufferPointer) -> EventStreamHeaderValue {
        func integer() -> UInt64 { bytes.reduce(0) { $0 << 8 | UInt64($1) } }
        switch type {
        case 0: return .bool(true)
        case 1: return .bool(false)
        case 2: return .int8(Int8(truncatingIfNeeded: integer()))
        case 3: return .int16(Int16(truncatingIfNeeded: integer()))
        case 4: return .int32(Int32(truncatingIfNeeded: integer()))
        case 5: return .int64(Int64(bitPattern: integer()))
        case 6: return .bytes([UInt8](bytes))
        case 7: return .string(String(decoding: bytes, as: UTF8.self))
        case 8: return .timestamp(Int64(bitPattern: integer()))
        default: return .uuid([UInt8](bytes))
        }
    }

    private static func equal(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        let other = text.utf8Start
        for offset in 0..<bytes.count where bytes[offset] != other[offset] { return false }
        return true
    }

    private static func equal(_ bytes: UnsafeRawBufferPointer, _ text: String) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in bytes.elementsEqual(utf8) }
    }
}
