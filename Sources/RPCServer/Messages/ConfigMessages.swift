import JSON
import JSONRPC

/// `{key, value}`: one key, `value` null when it is not set.
public struct ConfigEntryResponse: ResponseType {
    public var key: String
    public var value: String?
    public var json: JSONValue { ["key": .string(key), "value": value.map(JSONValue.string) ?? .null] }
}

/// `config/get` `{key?}` → `{config: {key: value...}}`, or `{key, value}` for one key.
public struct ConfigGetRequest: RequestType {
    public enum Response: ResponseType {
        case all([(key: String, value: String)])
        case one(ConfigEntryResponse)

        public var json: JSONValue {
            switch self {
            case .all(let entries): return ["config": .object(JSONObject(entries.map { ($0.key, .string($0.value)) }))]
            case .one(let entry): return entry.json
            }
        }
    }
    public static let method = "config/get"
    public var key: String?
    public init(params: Params) throws(ResponseError) { key = try params.optionalString("key") }
}

/// `config/set` `{key, value}` → `{key, value}`.
public struct ConfigSetRequest: RequestType {
    public typealias Response = ConfigEntryResponse
    public static let method = "config/set"
    public var key: String
    public var value: String
    public init(params: Params) throws(ResponseError) {
        key = try params.string("key")
        value = try params.string("value")
    }
}

/// `models/list` `{backend?, live?}` → `{models}`.
public struct ModelsListRequest: RequestType {
    public struct Response: ResponseType {
        public var models: [ModelEntry]
        public var json: JSONValue { ["models": .array(models.map(\.json))] }
    }
    public static let method = "models/list"
    public var backend: String?
    public var live: Bool
    public init(params: Params) throws(ResponseError) {
        backend = try params.optionalString("backend")
        live = try params.optionalBool("live") ?? false
    }
}
