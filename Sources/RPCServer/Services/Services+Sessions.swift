import Bedrock
import JSON

extension SessionRecord {
    /// `{sessionId, title, model, createdAt, updatedAt, messageCount}` for session/list.
    public var summaryJSON: JSONValue {
        [
            "sessionId": .string(id), "title": .string(title), "model": model.map(JSONValue.string) ?? .null,
            "backend": backend.map(JSONValue.string) ?? .null, "createdAt": .string(createdAt),
            "updatedAt": .string(updatedAt), "messageCount": .int(Int64(messageCount)),
        ]
    }

    public var usageJSON: JSONValue {
        ["inputTokens": .int(inputTokens), "outputTokens": .int(outputTokens), "totalTokens": .int(totalTokens)]
    }
}

extension Services {
    public func sessions() throws(ServiceError) -> [SessionRecord] {
        try stored { () throws(StoreError) in try store.sessions() }
    }

    public func session(id: String) throws(ServiceError) -> (SessionRecord, [StoredMessage]) {
        guard let session = try stored({ () throws(StoreError) in try store.session(id: id) }) else {
            throw Self.sessionNotFound(id)
        }
        return (session, try stored { () throws(StoreError) in try store.messages(sessionID: id) })
    }

    /// `{sessionId, title, model, messages: [{role, content, status, createdAt}], usage}` for session/get.
    public func sessionJSON(id: String) throws(ServiceError) -> JSONValue {
        let (session, messages) = try session(id: id)
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

    public func deleteSession(id: String) throws(ServiceError) {
        guard try stored({ () throws(StoreError) in try store.deleteSession(id: id) }) else {
            throw Self.sessionNotFound(id)
        }
    }

    /// The session `last` (most recently updated), or by id.
    public func resolveSession(_ reference: String) throws(ServiceError) -> String {
        guard reference == "last" else { return reference }
        guard let latest = try sessions().first else {
            throw ServiceError(
                .notFound, type: "SessionNotFound", message: "there are no sessions yet",
                hint: "Start one with contenox chat PROMPT.")
        }
        return latest.id
    }

    static func sessionNotFound(_ id: String) -> ServiceError {
        ServiceError(
            .notFound, type: "SessionNotFound", message: "no session '\(id)'",
            hint: "List sessions with contenox session list (session/list).")
    }
}
