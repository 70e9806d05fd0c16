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
