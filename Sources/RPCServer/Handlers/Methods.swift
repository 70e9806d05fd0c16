import Bedrock
import JSON
import JSONRPC

/// The notifications `chat/stream` sends while it runs.
public let serverNotifications = ["chat/blockStart", "chat/delta"]

extension Services {
    /// Every method of the contract, bound to this service layer.
    public func methodTable() -> MethodTable {
        var table = MethodTable()
        table.register(
            "backend/add",
            handler { services, params, _ in
                let backend = try services.addBackend(
                    name: try params.string("name"), type: try params.string("type"), url: try params.string("url"),
                    apiKeyEnv: try params.optionalString("apiKeyEnv"), region: try params.optionalString("region"),
                    replace: try params.optionalBool("replace") ?? false)
                return ["backend": backend.json]
            })
        table.register(
            "backend/list",
            handler { services, _, _ in
                ["backends": .array(try services.backends().map(\.json))]
            })
        table.register(
            "backend/show",
            handler { services, params, _ in
                ["backend": try services.backend(named: try params.string("name")).json]
            })
        table.register(
            "backend/remove",
            handler { services, params, _ in
                let name = try params.string("name")
                try services.removeBackend(named: name)
                return ["removed": .string(name)]
            })
        table.register(
            "backend/check",
            handler { services, params, _ in
                let (backend, check) = try await services.checkBackend(named: try params.optionalString("name"))
                var result = check.json.objectValue ?? [:]
                result["backend"] = backend.json
                return .object(result)
            })
        table.register(
            "config/get",
            handler { services, params, _ in
                if let key = try params.optionalString("key") {
                    return ["key": .string(key), "value": (try services.config(key)).map(JSONValue.string) ?? .null]
                }
                return [
                    "config": .object(JSONObject(try services.config().map { ($0.key, JSONValue.string($0.value)) }))
                ]
            })
        table.register(
            "config/set",
            handler { services, params, _ in
                let key = try params.string("key")
                let value = try params.string("value")
                try services.setConfig(key, value)
                if key == "default-provider" { services.prewarm() }
                return ["key": .string(key), "value": (try services.config(key)).map(JSONValue.string) ?? .null]
            })
        table.register(
            "models/list",
            handler { services, params, _ in
                [
                    "models": .array(
                        try await services.models(
                            backend: try params.optionalString("backend"),
                            live: try params.optionalBool("live") ?? false))
                ]
            })
        table.register(
            "session/list",
            handler { services, _, _ in
                ["sessions": .array(try services.sessions().map(\.summaryJSON))]
            })
        table.register(
            "session/get",
            handler { services, params, _ in
                ["session": try services.sessionJSON(id: try params.string("sessionId"))]
            })
        table.register(
            "session/delete",
            handler { services, params, _ in
                let id = try params.string("sessionId")
                try services.deleteSession(id: id)
                return ["deleted": .string(id)]
            })
        table.register(
            "chat/stream",
            handler { services, params, context in
                try await services.chat(ChatRequest(params), streaming: true) { method, notification in
                    await context.notify(method, Self.tagged(notification, requestID: context.id))
                }.json
            })
        table.register(
            "chat/send",
            handler { services, params, _ in
                try await services.chat(ChatRequest(params), streaming: false) { _, _ in }.json
            })
        return table
    }

    private static func tagged(_ params: JSONObject, requestID: JSONValue) -> JSONValue {
        var tagged: JSONObject = ["requestId": requestID]
        for (key, value) in params { tagged[key] = value }
        return .object(tagged)
    }

    /// Adapts a body that may throw anything to a `Handler`: service failures become JSON-RPC errors
    /// with their data, cancellation becomes -32800, anything unexpected -32603.
    private func handler(
        _ body: @escaping @Sendable (Services, Params, RequestContext) async throws -> JSONValue
    ) -> Handler {
        { [self] params, context throws(ResponseError) in
            do {
                return try await body(self, params, context)
            } catch let error as ResponseError {
                throw error
            } catch let error as ServiceError {
                throw error.responseError
            } catch is CancellationError {
                throw .requestCancelled()
            } catch {
                throw .internalError("internal error: \(error)")
            }
        }
    }
}
