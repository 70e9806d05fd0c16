import Bedrock
import JSON
import JSONRPC
import Locking

/// The notifications `chat/stream` sends while it runs.
public let serverNotifications = [
    ChatBlockStartNotification.method, ChatDeltaNotification.method, ChatStatusNotification.method,
]

extension Services {
    /// Every method of the contract, bound to this service layer: each decodes its typed params, calls the
    /// service, and encodes the typed result; failures map to JSON-RPC errors in one place (`ResponseError(_:)`).
    public func methodTable() -> MethodTable {
        var table = MethodTable()
        table.register(BackendAddRequest.self) { [self] request, _ throws(ResponseError) in
            try serve {
                BackendResponse(
                    backend: try addBackend(
                        name: request.name, type: request.type, url: request.url, apiKeyEnv: request.apiKeyEnv,
                        region: request.region, replace: request.replace, options: request.options))
            }
        }
        table.register(BackendListRequest.self) { [self] _, _ throws(ResponseError) in
            try serve { BackendListRequest.Response(backends: try backends()) }
        }
        table.register(BackendShowRequest.self) { [self] request, _ throws(ResponseError) in
            try serve { BackendResponse(backend: try backend(named: request.name)) }
        }
        table.register(BackendRemoveRequest.self) { [self] request, _ throws(ResponseError) in
            try serve {
                try removeBackend(named: request.name)
                return BackendRemoveRequest.Response(removed: request.name)
            }
        }
        table.register(BackendCheckRequest.self) { [self] request, _ throws(ResponseError) in
            do throws(ServiceError) {
                let (backend, check) = try await checkBackend(named: request.name)
                return BackendCheckRequest.Response(backend: backend, check: check.json)
            } catch {
                throw ResponseError(error)
            }
        }
        table.register(ConfigGetRequest.self) { [self] request, _ throws(ResponseError) in
            try serve {
                if let key = request.key { return .one(ConfigEntryResponse(key: key, value: try config(key))) }
                return .all(try config())
            }
        }
        table.register(ConfigSetRequest.self) { [self] request, _ throws(ResponseError) in
            try serve {
                try setConfig(request.key, request.value)
                // An editor's server warms the backend it will now use (the CLI's process is about to exit).
                if request.key == "default-provider" { prewarm() }
                return ConfigEntryResponse(key: request.key, value: try config(request.key))
            }
        }
        table.register(ModelsListRequest.self) { [self] request, _ throws(ResponseError) in
            do throws(ServiceError) {
                return ModelsListRequest.Response(
                    models: try await models(backend: request.backend, live: request.live))
            } catch {
                throw ResponseError(error)
            }
        }
        table.register(SessionListRequest.self) { [self] _, _ throws(ResponseError) in
            try serve { SessionListRequest.Response(sessions: try sessions()) }
        }
        table.register(SessionGetRequest.self) { [self] request, _ throws(ResponseError) in
            try serve { SessionGetRequest.Response(session: try sessionDetail(id: request.sessionID)) }
        }
        table.register(SessionDeleteRequest.self) { [self] request, _ throws(ResponseError) in
            try serve {
                try deleteSession(id: request.sessionID)
                return SessionDeleteRequest.Response(deleted: request.sessionID)
            }
        }
        // Chats take their session's turn as they arrive, so that turns of one session run in that order.
        table.registerInArrivalOrder(ChatStreamRequest.self) { [self] request, context in
            let turn = reserveTurn(sessionID: request.chat.sessionID)
            return { () async throws(ResponseError) -> ChatResult in
                let session = LockedValue<String?>(nil)
                return try await self.chatting {
                    try await self.chat(request.chat, streaming: true, turn: turn) { event in
                        switch event {
                        case .started(let id):
                            session.withLock { $0 = id }
                        case .blockStart(let index, let start):
                            await context.notify(
                                ChatBlockStartNotification(
                                    requestID: context.id, sessionID: session.withLock { $0 }, index: index,
                                    start: start))
                        case .text(let index, let text):
                            await context.notify(
                                ChatDeltaNotification(
                                    requestID: context.id, sessionID: session.withLock { $0 }, index: index,
                                    delta: ["text": .string(text)]))
                        case .delta(let index, let delta):
                            await context.notify(
                                ChatDeltaNotification(
                                    requestID: context.id, sessionID: session.withLock { $0 }, index: index,
                                    delta: delta))
                        case .retrying(let notice):
                            await context.notify(
                                ChatStatusNotification(
                                    requestID: context.id, sessionID: session.withLock { $0 }, retry: notice))
                        }
                    }
                }
            }
        }
        table.registerInArrivalOrder(ChatSendRequest.self) { [self] request, _ in
            let turn = reserveTurn(sessionID: request.chat.sessionID)
            return { () async throws(ResponseError) -> ChatResult in
                try await self.chatting { try await self.chat(request.chat, streaming: false, turn: turn) { _ in } }
            }
        }
        table.register(ChatCountTokensRequest.self) { [self] request, _ throws(ResponseError) in
            do throws(ServiceError) {
                return try await countTokens(request.chat)
            } catch {
                throw ResponseError(error)
            }
        }
        return table
    }

    /// Runs a service call, mapping its failure (a ServiceError, as every service throws).
    private func serve<Result>(_ body: () throws -> Result) throws(ResponseError) -> Result {
        do {
            return try body()
        } catch let error as ServiceError {
            throw ResponseError(error)
        } catch {
            throw .internalError("internal error: \(error)")
        }
    }

    /// Runs a chat, mapping its failures: a cancelled chat is -32800, anything unexpected -32603.
    private func chatting(_ body: () async throws -> ChatResult) async throws(ResponseError) -> ChatResult {
        do {
            return try await body()
        } catch let error as ServiceError {
            throw ResponseError(error)
        } catch is CancellationError {
            throw .requestCancelled()
        } catch {
            throw .internalError("internal error: \(error)")
        }
    }
}

extension ErrorCode {
    /// No credentials, or a configured credential source that is broken.
    public static let credentialsUnavailable = ErrorCode(-32001)
    /// Configuration: a backend, model or session that is not there or not set, a name that is taken.
    public static let notConfigured = ErrorCode(-32003)
    /// The endpoint could not be reached, or went silent.
    public static let connectionFailed = ErrorCode(-32004)
    /// The answer stream was damaged.
    public static let streamCorrupt = ErrorCode(-32005)
    /// The SQLite store failed.
    public static let storageFailed = ErrorCode(-32010)

    /// The one table from a service failure's kind to its JSON-RPC code; a kind not listed is a Bedrock
    /// service error (-32000).
    public static func forKind(_ kind: ServiceError.Kind) -> ErrorCode {
        switch kind {
        case .invalidParams: return .invalidParams
        case .notFound, .conflict, .configuration: return .notConfigured
        case .credentialsNotFound, .credentialsInvalid: return .credentialsUnavailable
        case .connectionFailed, .timeout: return .connectionFailed
        case .streamCorrupt: return .streamCorrupt
        case .storage: return .storageFailed
        case .cancelled: return .requestCancelled
        default: return .backendError
        }
    }
}

extension ResponseError {
    /// A service failure as a JSON-RPC error: the code from its kind, `data: {type, message, ..., hint}`.
    public init(_ error: ServiceError) {
        self.init(code: .forKind(error.kind), message: error.message, data: error.data)
    }
}
