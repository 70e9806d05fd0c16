import JSON
import JSONRPC

/// `session/list` → `{sessions}`.
public struct SessionListRequest: RequestType {
    public struct Response: ResponseType {
        public var sessions: [SessionRecord]
        public var json: JSONValue { ["sessions": .array(sessions.map(\.summaryJSON))] }
    }
    public static let method = "session/list"
    public init(params: Params) throws(ResponseError) {}
}

/// `session/get` `{sessionId}` → `{session}`.
public struct SessionGetRequest: RequestType {
    public struct Response: ResponseType {
        public var session: SessionDetail
        public var json: JSONValue { ["session": session.json] }
    }
    public static let method = "session/get"
    public var sessionID: String
    public init(params: Params) throws(ResponseError) { sessionID = try params.string("sessionId") }
}

/// `session/delete` `{sessionId}` → `{deleted}`.
public struct SessionDeleteRequest: RequestType {
    public struct Response: ResponseType {
        public var deleted: String
        public var json: JSONValue { ["deleted": .string(deleted)] }
    }
    public static let method = "session/delete"
    public var sessionID: String
    public init(params: Params) throws(ResponseError) { sessionID = try params.string("sessionId") }
}
