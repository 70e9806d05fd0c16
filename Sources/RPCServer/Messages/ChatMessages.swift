import Basics
import Bedrock
import JSON
import JSONRPC

extension ChatRequest {
    /// The params of `chat/stream` and `chat/send`, checked: `{prompt?, content?, sessionId?, model?, backend?,
    /// system?, inferenceConfig?, toolConfig?, additionalModelRequestFields?, ephemeral?}` and the Converse
    /// fields passed through (`guardrailConfig`, `performanceConfig`, `serviceTier`, `requestMetadata`,
    /// `additionalModelResponseFieldPaths`).
    public init(params: Params) throws(ResponseError) {
        var blocks: [ContentBlock] = []
        if let prompt = try params.optionalString("prompt") {
            guard !prompt.trimmingWhitespaceAndNewlines().isEmpty else {
                throw .invalidParams("invalid params: 'prompt' is blank")
            }
            blocks.append(.text(prompt))
        }
        for (index, block) in (try params.optionalArray("content") ?? []).enumerated() {
            do {
                blocks.append(try ContentBlock(json: block))
            } catch {
                throw .invalidParams("invalid params: content[\(index)]: \(error.message)")
            }
        }
        guard !blocks.isEmpty else { throw .invalidParams("invalid params: give 'prompt' or 'content'") }
        self.init(prompt: nil, content: blocks)
        sessionID = try params.optionalString("sessionId")
        model = try params.optionalString("model")
        backend = try params.optionalString("backend")
        switch params.value("system") {
        case nil, .null?: system = nil
        case .string(let text)?: system = [["text": .string(text)]]
        case .array(let blocks)?: system = blocks
        case let other?:
            throw .invalidParams("invalid params: 'system' must be a string or an array, got \(other.typeName)")
        }
        inferenceConfig = try params.optionalObject("inferenceConfig").map(JSONValue.object)
        toolConfig = try params.optionalObject("toolConfig").map(JSONValue.object)
        additionalModelRequestFields = try params.optionalObject("additionalModelRequestFields").map(JSONValue.object)
        ephemeral = try params.optionalBool("ephemeral") ?? false
        if let cache = try params.optionalString("cache") {
            guard let policy = PromptCachePlanner.Policy(rawValue: cache) else {
                throw .invalidParams("invalid params: 'cache' must be auto, off or 1h, got \(cache.quoted())")
            }
            self.cache = policy
        }
        if let thinking = try params.optionalObject("thinking") {
            guard let budget = thinking["budgetTokens"]?.intValue else {
                throw .invalidParams("invalid params: 'thinking' needs budgetTokens, an integer")
            }
            thinkingBudget = Int(budget)
        }
        for key in ConverseRequest.passthroughFields {
            guard let value = params.value(key), !value.isNull else { continue }
            let isList = key == "additionalModelResponseFieldPaths"
            switch (value, isList) {
            case (.object, false), (.array, true): passthrough[key] = value
            default:
                throw .invalidParams(
                    "invalid params: '\(key)' must be \(isList ? "an array" : "an object"), got \(value.typeName)")
            }
        }
    }
}

extension ChatResult: ResponseType {}

/// `chat/stream`: a chat turn whose answer streams as `chat/blockStart` and `chat/delta` notifications.
public struct ChatStreamRequest: RequestType {
    public typealias Response = ChatResult
    public static let method = "chat/stream"
    public var chat: ChatRequest
    public init(params: Params) throws(ResponseError) { chat = try ChatRequest(params: params) }
}

/// `chat/send`: the same turn through Converse, answered whole, with no notifications.
public struct ChatSendRequest: RequestType {
    public typealias Response = ChatResult
    public static let method = "chat/send"
    public var chat: ChatRequest
    public init(params: Params) throws(ResponseError) { chat = try ChatRequest(params: params) }
}

/// `chat/blockStart` `{requestId, sessionId, contentBlockIndex, start}`.
public struct ChatBlockStartNotification: NotificationType {
    public static let method = "chat/blockStart"
    public var requestID: JSONValue
    public var sessionID: String?
    public var index: Int
    public var start: JSONValue

    public var params: JSONValue {
        [
            "requestId": requestID, "sessionId": sessionID.map(JSONValue.string) ?? .null,
            "contentBlockIndex": .int(Int64(index)), "start": start,
        ]
    }
}

/// `chat/delta` `{requestId, sessionId, contentBlockIndex, delta}`.
public struct ChatDeltaNotification: NotificationType {
    public static let method = "chat/delta"
    public var requestID: JSONValue
    public var sessionID: String?
    public var index: Int
    public var delta: JSONValue

    public var params: JSONValue {
        [
            "requestId": requestID, "sessionId": sessionID.map(JSONValue.string) ?? .null,
            "contentBlockIndex": .int(Int64(index)), "delta": delta,
        ]
    }
}

/// `chat/status` `{requestId, sessionId, state: "retrying", attempt, maxAttempts, delayMs, reason, message}`:
/// the chat waits to try again.
public struct ChatStatusNotification: NotificationType {
    public static let method = "chat/status"
    public var requestID: JSONValue
    public var sessionID: String?
    public var retry: RetryNotice

    public var params: JSONValue {
        [
            "requestId": requestID, "sessionId": sessionID.map(JSONValue.string) ?? .null, "state": "retrying",
            "attempt": .int(Int64(retry.attempt)), "maxAttempts": .int(Int64(retry.maxAttempts)),
            "delayMs": .int(Int64(retry.delayMilliseconds)), "reason": .string(retry.reason),
            "message": .string(retry.message),
        ]
    }
}

extension TokenCount: ResponseType {}

/// `chat/countTokens`: the params of `chat/stream` (a session's history included); what the turn's input
/// would come to, by Bedrock's CountTokens. Nothing is stored or sent to the model.
public struct ChatCountTokensRequest: RequestType {
    public typealias Response = TokenCount
    public static let method = "chat/countTokens"
    public var chat: ChatRequest
    public init(params: Params) throws(ResponseError) { chat = try ChatRequest(params: params) }
}
