import JSON
import JSONRPC

/// `{backend}`: the result of `backend/add` and `backend/show`.
public struct BackendResponse: ResponseType {
    public var backend: BackendRecord
    public var json: JSONValue { ["backend": backend.json] }
}

/// `backend/add` `{name, type, url, apiKeyEnv?, region?, replace?}`.
public struct BackendAddRequest: RequestType {
    public typealias Response = BackendResponse
    public static let method = "backend/add"
    public var name: String
    public var type: String
    public var url: String
    public var apiKeyEnv: String?
    public var region: String?
    public var replace: Bool
    /// `guardrail` ("ID[:VERSION]"), `guardrailTrace`, `latency`, `serviceTier`, `requestMetadata` ({key: value}),
    /// `cache` (auto | off | 1h).
    public var options: BackendRequestOptions

    public init(params: Params) throws(ResponseError) {
        name = try params.string("name")
        type = try params.string("type")
        url = try params.string("url")
        apiKeyEnv = try params.optionalString("apiKeyEnv")
        region = try params.optionalString("region")
        replace = try params.optionalBool("replace") ?? false
        var metadata: [(key: String, value: String)] = []
        for (key, value) in try params.optionalObject("requestMetadata") ?? [:] {
            guard case .string(let text) = value else {
                throw .invalidParams("invalid params: 'requestMetadata' values must be strings")
            }
            metadata.append((key, text))
        }
        options = BackendRequestOptions(
            guardrail: try params.optionalString("guardrail"),
            guardrailTrace: try params.optionalBool("guardrailTrace") ?? false,
            latency: try params.optionalString("latency"), serviceTier: try params.optionalString("serviceTier"),
            requestMetadata: metadata, cache: try params.optionalString("cache"))
    }
}

/// `backend/list` → `{backends}`.
public struct BackendListRequest: RequestType {
    public struct Response: ResponseType {
        public var backends: [BackendRecord]
        public var json: JSONValue { ["backends": .array(backends.map(\.json))] }
    }
    public static let method = "backend/list"
    public init(params: Params) throws(ResponseError) {}
}

/// `backend/show` `{name}` → `{backend}`.
public struct BackendShowRequest: RequestType {
    public typealias Response = BackendResponse
    public static let method = "backend/show"
    public var name: String
    public init(params: Params) throws(ResponseError) { name = try params.string("name") }
}

/// `backend/remove` `{name}` → `{removed}`.
public struct BackendRemoveRequest: RequestType {
    public struct Response: ResponseType {
        public var removed: String
        public var json: JSONValue { ["removed": .string(removed)] }
    }
    public static let method = "backend/remove"
    public var name: String
    public init(params: Params) throws(ResponseError) { name = try params.string("name") }
}

/// `backend/check` `{name?}` → `{backend, region, credentialSource, ok, problems}`.
public struct BackendCheckRequest: RequestType {
    public struct Response: ResponseType {
        public var backend: BackendRecord
        public var check: JSONValue
        public var json: JSONValue {
            var result = check.objectValue ?? [:]
            result["backend"] = backend.json
            return .object(result)
        }
    }
    public static let method = "backend/check"
    public var name: String?
    public init(params: Params) throws(ResponseError) { name = try params.optionalString("name") }
}
