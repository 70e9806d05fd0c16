import JSON
import JSONRPC

// The Agent Client Protocol (v1) methods `contenox acp` answers, as typed messages. Shapes follow the
// official SDK's schema (agent-client-protocol on pip, acp/schema.py).

/// `initialize` `{protocolVersion, clientCapabilities?}`: what the client can do for the agent.
public struct ACPInitializeRequest: RequestType {
    public typealias Response = JSONValue
    public static let method = "initialize"
    public var protocolVersion: Int
    /// The client offers `fs/read_text_file` / `fs/write_text_file` (absent means no).
    public var canReadFiles: Bool
    public var canWriteFiles: Bool
    /// The client can run the agent's command in a terminal for a sign-in (`auth.terminal`).
    public var canRunTerminalAuth: Bool

    public init(params: Params) throws(ResponseError) {
        protocolVersion = try params.int("protocolVersion")
        let capabilities = params.value("clientCapabilities")
        let fs = capabilities?["fs"]
        canReadFiles = fs?["readTextFile"]?.boolValue ?? false
        canWriteFiles = fs?["writeTextFile"]?.boolValue ?? false
        canRunTerminalAuth = capabilities?["auth"]?["terminal"]?.boolValue ?? false
    }
}

/// `authenticate` `{methodId}` → `{}`.
public struct ACPAuthenticateRequest: RequestType {
    public typealias Response = JSONValue
    public static let method = "authenticate"
    public var methodID: String
    public init(params: Params) throws(ResponseError) { methodID = try params.string("methodId") }
}

/// `session/new` `{cwd, mcpServers}` → `{sessionId, configOptions?}`.
public struct ACPNewSessionRequest: RequestType {
    public typealias Response = JSONValue
    public static let method = "session/new"
    public var cwd: String
    public init(params: Params) throws(ResponseError) { cwd = try params.string("cwd") }
}

/// `session/load` and `session/resume` `{sessionId, cwd}` → `{configOptions?}`; load replays the history first.
public struct ACPLoadSessionRequest: RequestType {
    public typealias Response = JSONValue
    public static let method = "session/load"
    public var sessionID: String
    public var cwd: String
    public init(params: Params) throws(ResponseError) {
        sessionID = try params.string("sessionId")
        cwd = try params.string("cwd")
    }
}

public struct ACPResumeSessionRequest: RequestType {
    public typealias Response = JSONValue
    public static let method = "session/resume"
    public var session: ACPLoadSessionRequest
    public init(params: Params) throws(ResponseError) { session = try ACPLoadSessionRequest(params: params) }
}

/// `session/list` `{cwd?, cursor?}` → `{sessions: [{sessionId, cwd, title, updatedAt}]}`.
public struct ACPListSessionsRequest: RequestType {
    public typealias Response = JSONValue
    public static let method = "session/list"
    public var cwd: String?
    public init(params: Params) throws(ResponseError) { cwd = try params.optionalString("cwd") }
}

/// `session/close` `{sessionId}` → `{}`: stops what runs in it; the stored session stays.
public struct ACPCloseSessionRequest: RequestType {
    public typealias Response = JSONValue
    public static let method = "session/close"
    public var sessionID: String
    public init(params: Params) throws(ResponseError) { sessionID = try params.string("sessionId") }
}

/// `session/delete` `{sessionId}` → `{}`.
public struct ACPDeleteSessionRequest: RequestType {
    public typealias Response = JSONValue
    public static let method = "session/delete"
    public var sessionID: String
    public init(params: Params) throws(ResponseError) { sessionID = try params.string("sessionId") }
}

/// `session/prompt` `{sessionId, prompt: [ContentBlock]}` → `{stopReason, usage}`.
public struct ACPPromptRequest: RequestType {
    public typealias Response = JSONValue
    public static let method = "session/prompt"
    public var sessionID: String
    public var prompt: [JSONValue]
    public init(params: Params) throws(ResponseError) {
        sessionID = try params.string("sessionId")
        prompt = try params.array("prompt")
    }
}

/// `session/set_config_option` `{sessionId, configId, value}` → `{configOptions}` (all of them).
public struct ACPSetConfigOptionRequest: RequestType {
    public typealias Response = JSONValue
    public static let method = "session/set_config_option"
    public var sessionID: String
    public var configID: String
    public var value: String
    public init(params: Params) throws(ResponseError) {
        sessionID = try params.string("sessionId")
        configID = try params.string("configId")
        value = try params.string("value")
    }
}

/// `session/cancel` `{sessionId}`: a notification; the pending prompt answers `cancelled`.
public enum ACPCancelNotification {
    public static let method = "session/cancel"
}

/// `session/update` `{sessionId, update}`.
public struct ACPSessionUpdate: NotificationType {
    public static let method = "session/update"
    public var sessionID: String
    public var update: JSONValue
    public var params: JSONValue { ["sessionId": .string(sessionID), "update": update] }
}

/// Requests the agent sends to the client.
public enum ACPClientMethod {
    public static let readTextFile = "fs/read_text_file"
    public static let writeTextFile = "fs/write_text_file"
    public static let requestPermission = "session/request_permission"
}
