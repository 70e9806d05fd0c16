import Basics
import JSON

/// A message that is JSON but not a valid JSON-RPC 2.0 message; it is answered with
/// `error` and `id` (`.null` when the id could not be read).
public struct InvalidMessage: Error, Sendable, Equatable {
    public var id: JSONValue
    public var error: ResponseError

    public init(id: JSONValue, error: ResponseError) {
        self.id = id
        self.error = error
    }

    /// The error response that answers it.
    public var response: Message { .response(id: id, result: .failure(error)) }
}

/// What one frame decodes to.
public enum Incoming: Sendable, Equatable {
    case single(Result<Message, InvalidMessage>)
    /// A non-empty JSON array; each element decoded on its own. An empty array is
    /// `.single(.failure(...))` with -32600, as JSON-RPC 2.0 asks.
    case batch([Result<Message, InvalidMessage>])
    /// The frame is not JSON; answer with this error and id null.
    case parseError(ResponseError)

    /// Decodes and validates one frame's body.
    ///
    /// Ids are kept exactly as sent (integer, string, null, or a number with a
    /// fraction); an object, array or boolean id is -32600 with id null. `params` is
    /// kept raw, whatever its type: `Params` decides, with -32602. Responses from the
    /// client decode as `.response` so that the caller can ignore them.
    public static func decode(_ body: [UInt8]) -> Incoming {
        let value: JSONValue
        do {
            value = try JSONValue.parse(body)
        } catch {
            return .parseError(.parseError("parse error: \(error)"))
        }
        guard case .array(let elements) = value else { return .single(decodeMessage(value)) }
        guard !elements.isEmpty else {
            return .single(.failure(InvalidMessage(id: .null, error: .invalidRequest("invalid request: empty batch"))))
        }
        return .batch(elements.map(decodeMessage))
    }

    /// Validates one JSON value as a request, notification or response.
    public static func decodeMessage(_ value: JSONValue) -> Result<Message, InvalidMessage> {
        guard case .object(let object) = value else {
            return invalid(.null, "invalid request: expected an object, got \(value.typeName)")
        }
        let id = object["id"]
        switch id {
        case nil, .null?, .int?, .double?, .string?:
            break
        case let other?:
            return invalid(.null, "invalid request: 'id' must be a string, a number or null, got \(other.typeName)")
        }
        let echoedID = id ?? .null
        switch object["jsonrpc"] {
        case .string("2.0")?:
            break
        case nil:
            return invalid(echoedID, "invalid request: missing \"jsonrpc\": \"2.0\"")
        case let other?:
            return invalid(echoedID, "invalid request: 'jsonrpc' must be \"2.0\", got \(other.jsonString.quoted())")
        }
        if let method = object["method"] {
            guard case .string(let name) = method else {
                return invalid(echoedID, "invalid request: 'method' must be a string, got \(method.typeName)")
            }
            if let id { return .success(.request(id: id, method: name, params: object["params"])) }
            return .success(.notification(method: name, params: object["params"]))
        }
        switch (object["result"], object["error"]) {
        case (let result?, nil) where id != nil:
            return .success(.response(id: echoedID, result: .success(result)))
        case (nil, let error?) where id != nil:
            return .success(.response(id: echoedID, result: .failure(ResponseError(json: error))))
        case (nil, nil):
            return invalid(echoedID, "invalid request: missing 'method'")
        default:
            return invalid(
                echoedID, "invalid request: a response needs an 'id' and exactly one of 'result' and 'error'")
        }
    }

    private static func invalid(_ id: JSONValue, _ message: String) -> Result<Message, InvalidMessage> {
        .failure(InvalidMessage(id: id, error: .invalidRequest(message)))
    }
}
