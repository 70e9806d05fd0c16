import JSON

/// A request method, as a type: its wire name spelled once, its params decoded once (a field that is
/// missing or of the wrong type is -32602 naming the field), and the type of its result.
public protocol RequestType: Sendable {
    associatedtype Response: ResponseType
    /// The method name on the wire, e.g. "chat/stream".
    static var method: String { get }
    init(params: Params) throws(ResponseError)
}

/// A request's result as it goes on the wire.
public protocol ResponseType: Sendable {
    var json: JSONValue { get }
}

/// A notification, as a type: its wire name spelled once and its params.
public protocol NotificationType: Sendable {
    static var method: String { get }
    var params: JSONValue { get }
}

extension NotificationType {
    /// The notification as a message.
    public var message: Message { .notification(method: Self.method, params: params) }
}

/// The result of a method that answers `null` (`shutdown`).
public struct VoidResponse: ResponseType, Equatable {
    public init() {}
    public var json: JSONValue { .null }
}

/// A result that is already JSON.
extension JSONValue: ResponseType {
    public var json: JSONValue { self }
}
