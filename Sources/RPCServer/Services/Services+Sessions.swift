import Bedrock
import FoundationEssentials

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

extension Services {
    /// Creates an empty session that a surface fills turn by turn (an ACP session exists from `session/new`
    /// on, so its id survives a restart). It takes the backend and `default-model` configured now; when
    /// none is set, its first turn fails with the usual hint.
    public func createSession(cwd: String?) throws(ServiceError) -> SessionRecord {
        let id = UUID().uuidString.lowercased()
        let backend = try? resolveBackend(nil).name
        let model = try config("default-model")
        try stored { () throws(StoreError) in
            try store.createSession(id: id, title: "(untitled)", model: model, backend: backend, cwd: cwd)
        }
        return try session(id: id).0
    }

    /// Makes `model` the session's model for its next turns.
    public func setSessionModel(id: String, model: String) throws(ServiceError) {
        guard !model.isEmpty, !model.contains(where: \.isWhitespace) else {
            throw ServiceError(
                .invalidParams, type: "InvalidModel", message: "invalid model id \(model.quoted())",
                hint: "See `contenox model list` for ids.")
        }
        let (record, _) = try session(id: id)
        var backend = record.backend
        if backend == nil { backend = try resolveBackend(nil).name }
        try stored { () throws(StoreError) in
            try store.updateSession(id: id, model: model, backend: backend ?? "", toolConfig: nil)
        }
    }

    /// Records the directory a session works in.
    public func setSessionDirectory(id: String, cwd: String) throws(ServiceError) {
        _ = try session(id: id)
        try stored { () throws(StoreError) in try store.setSession(id: id, cwd: cwd) }
    }
}
