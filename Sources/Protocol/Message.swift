import JSON

/// One JSON-RPC 2.0 message, in either direction.
public enum Message: Sendable, Equatable {
    /// `params` is the raw member: nil when absent, `.null` when sent as null. Read it through `Params`.
    case request(id: JSONValue, method: String, params: JSONValue?)
    case notification(method: String, params: JSONValue?)
    /// Exactly one of result and error; a void result is `.success(.null)`.
    case response(id: JSONValue, result: Result<JSONValue, ResponseError>)

    /// The message as a JSON object: `{"jsonrpc":"2.0","id":..,"method":..,"params":..}`, `params`
    /// only when present; a response carries exactly one of `result` and `error`.
    public var json: JSONValue {
        var object: JSONObject = ["jsonrpc": "2.0"]
        switch self {
        case .request(let id, let method, let params):
            object["id"] = id
            object["method"] = .string(method)
            if let params { object["params"] = params }
        case .notification(let method, let params):
            object["method"] = .string(method)
            if let params { object["params"] = params }
        case .response(let id, .success(let result)):
            object["id"] = id
            object["result"] = result
        case .response(let id, .failure(let error)):
            object["id"] = id
            object["error"] = error.json
        }
        return .object(object)
    }

    /// The message as compact UTF-8 JSON, ready for a framer's `encode`.
    public var serialized: [UInt8] { json.serialized() }

    /// The method of a request or notification; nil for a response.
    public var method: String? {
        switch self {
        case .request(_, let method, _), .notification(let method, _): return method
        case .response: return nil
        }
    }

    /// The id of a request or response; nil for a notification.
    public var id: JSONValue? {
        switch self {
        case .request(let id, _, _), .response(let id, _): return id
        case .notification: return nil
        }
    }
}
