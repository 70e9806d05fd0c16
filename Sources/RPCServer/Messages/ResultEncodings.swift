import Bedrock
import JSON

// How the service layer's results look on the wire: `contenox serve`'s results and the CLI's `--json`
// output are the same JSON, written here once.

extension SessionRecord {
    /// `{sessionId, title, model, backend, createdAt, updatedAt, messageCount}`.
    public var summaryJSON: JSONValue {
        [
            "sessionId": .string(id), "title": .string(title), "model": model.map(JSONValue.string) ?? .null,
            "backend": backend.map(JSONValue.string) ?? .null, "createdAt": .string(createdAt),
            "updatedAt": .string(updatedAt), "messageCount": .int(Int64(messageCount)),
        ]
    }

    public var usageJSON: JSONValue {
        [
            "inputTokens": .int(inputTokens), "outputTokens": .int(outputTokens), "totalTokens": .int(totalTokens),
            "cacheReadInputTokens": .int(cacheReadTokens), "cacheWriteInputTokens": .int(cacheWriteTokens),
        ]
    }
}

extension SessionDetail {
    /// The summary plus `messages: [{role, content, status, createdAt}]` and `usage`.
    public var json: JSONValue {
        var object = session.summaryJSON.objectValue ?? [:]
        object["messages"] = .array(
            messages.map { message in
                [
                    "role": .string(message.role), "content": message.content, "status": .string(message.status),
                    "createdAt": .string(message.createdAt),
                ]
            })
        object["usage"] = session.usageJSON
        return .object(object)
    }
}

extension ModelEntry {
    /// `{id, name, provider, backend, streaming, requiresInferenceProfile, contextWindow?, default?}`.
    public var json: JSONValue {
        var object = model.json.objectValue ?? [:]
        object["backend"] = .string(backend)
        if let window = ModelCatalog.contextWindow(of: model.id) { object["contextWindow"] = .int(Int64(window)) }
        if isDefault { object["default"] = true }
        return .object(object)
    }
}

extension ChatResult {
    /// `{sessionId, model, backend, stopReason, message, usage, metrics, guardrail?}`.
    public var json: JSONValue {
        var object: JSONObject = [
            "sessionId": sessionID.map(JSONValue.string) ?? .null, "model": .string(model),
            "backend": .string(backend), "stopReason": .string(stopReason), "message": message.json,
            "usage": usage, "metrics": metrics,
        ]
        if let guardrail { object["guardrail"] = guardrail.json }
        return .object(object)
    }
}

extension TokenCount {
    /// `{inputTokens, model, backend, contextWindow?}`.
    public var json: JSONValue {
        var object: JSONObject = [
            "inputTokens": .int(Int64(inputTokens)), "model": .string(model), "backend": .string(backend),
        ]
        if let contextWindow { object["contextWindow"] = .int(Int64(contextWindow)) }
        return .object(object)
    }
}
