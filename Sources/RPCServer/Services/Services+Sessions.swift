import Bedrock

/// A session with its messages, as `session/get` and `contenox session show` show it.
public struct SessionDetail: Sendable, Equatable {
    public var session: SessionRecord
    public var messages: [StoredMessage]
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

    public func sessionDetail(id: String) throws(ServiceError) -> SessionDetail {
        let (session, messages) = try session(id: id)
        return SessionDetail(session: session, messages: messages)
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
                hint: "Start one with `contenox chat PROMPT`.")
        }
        return latest.id
    }

    static func sessionNotFound(_ id: String) -> ServiceError {
        ServiceError(
            .notFound, type: "SessionNotFound", message: "no session \(id.quoted())",
            hint: "List sessions with `contenox session list` (session/list).")
    }
}
