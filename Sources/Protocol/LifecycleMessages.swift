import JSON

// The lifecycle every JSON-RPC surface of contenox keeps (LSP's): the dispatcher handles these itself.

/// `initialize` `{clientInfo?: {name, version?}}`.
public struct InitializeRequest: RequestType {
    public typealias Response = JSONValue
    public static let method = "initialize"
    public var clientName: String?

    public init(params: Params) throws(ResponseError) {
        let info = try params.optionalObject("clientInfo")
        clientName = info?["name"]?.stringValue
    }
}

/// `shutdown`: answered `null` once every request received before it is answered.
public struct ShutdownRequest: RequestType {
    public typealias Response = VoidResponse
    public static let method = "shutdown"
    public init(params: Params) throws(ResponseError) {}
}

/// `initialized`: the client has read the `initialize` result.
public struct InitializedNotification: NotificationType {
    public static let method = "initialized"
    public var params: JSONValue { .null }
}

/// `exit`: the process exits, 0 after `shutdown` and 1 without it.
public struct ExitNotification: NotificationType {
    public static let method = "exit"
    public var params: JSONValue { .null }
}

/// `$/cancelRequest` `{id}`: the request answers -32800 at once and its work is cancelled.
public struct CancelRequestNotification: NotificationType {
    public static let method = "$/cancelRequest"
    public var id: JSONValue

    public init(id: JSONValue) { self.id = id }

    public init(params: JSONValue?) throws(ResponseError) {
        guard let id = params?["id"], !id.isNull else { throw .invalidParams("invalid params: missing 'id'") }
        self.id = id
    }

    public var params: JSONValue { ["id": id] }
}
