import JSON
import JSONRPC

/// An untyped method handler: its params and a context to send notifications through. It knows nothing of
/// stdio, framing or ids in flight, so it can be tested in-process.
public typealias Handler = @Sendable (Params, RequestContext) async throws(ResponseError) -> JSONValue

/// What a running request may do besides returning its result.
public struct RequestContext: Sendable {
    /// The request's id as the client sent it.
    public let id: JSONValue
    let send: @Sendable (Message) async -> Void
    let ask: @Sendable (String, JSONValue) async -> Result<JSONValue, ResponseError>

    public init(
        id: JSONValue, send: @escaping @Sendable (Message) async -> Void,
        request: @escaping @Sendable (String, JSONValue) async -> Result<JSONValue, ResponseError> = { method, _ in
            .failure(.methodNotFound(method: method))
        }
    ) {
        self.id = id
        self.send = send
        self.ask = request
    }

    /// Sends a request to the client and returns its result; throws the client's error, or -32800 when
    /// the calling task is cancelled first.
    public func request(_ method: String, _ params: JSONValue) async throws(ResponseError) -> JSONValue {
        try await ask(method, params).get()
    }

    /// Sends a notification now, ahead of the request's response. Waits while the client is not reading
    /// (back-pressure), so a stream never runs ahead of its reader without bound.
    public func notify<N: NotificationType>(_ notification: N) async {
        await send(notification.message)
    }

    public func notify(_ method: String, _ params: JSONValue) async {
        await send(.notification(method: method, params: params))
    }
}

/// The methods a server answers, by name. Each entry decodes a request's params and prepares its work as
/// the request arrives, in arrival order (so a method can take its place in a queue, as chat turns of one
/// session do); the work then runs in a task of its own.
public struct MethodTable: Sendable {
    /// A request's work, ready to run: its result or its error.
    public typealias Work = @Sendable () async -> Result<JSONValue, ResponseError>
    /// Decodes params and prepares the work; an error answers the request at once.
    public typealias Prepare = @Sendable (Params, RequestContext) -> Result<Work, ResponseError>

    public private(set) var entries: [String: Prepare] = [:]
    /// Notifications the table handles, by method; they run in arrival order on the reader's thread and
    /// must not block.
    public private(set) var notifications: [String: @Sendable (JSONValue?) -> Void] = [:]

    public init() {}

    public var methods: [String] { Array(entries.keys) }

    public mutating func register(_ method: String, _ handler: @escaping Handler) {
        entries[method] = { params, context in
            .success({ await Self.result { () async throws(ResponseError) in try await handler(params, context) } })
        }
    }

    public mutating func registerNotification(_ method: String, _ handler: @escaping @Sendable (JSONValue?) -> Void) {
        notifications[method] = handler
    }

    /// Registers a typed method: its params are decoded once, as it arrives.
    public mutating func register<Request: RequestType>(
        _ type: Request.Type,
        _ body: @escaping @Sendable (Request, RequestContext) async throws(ResponseError) -> Request.Response
    ) {
        entries[Request.method] = { params, context in
            Self.decode(Request.self, params).map { request in
                { await Self.result { () async throws(ResponseError) in try await body(request, context).json } }
            }
        }
    }

    /// Registers a typed method that does part of its work as it arrives (in arrival order, on the reader's
    /// thread: it must not block) and returns the rest to run in its task.
    public mutating func registerInArrivalOrder<Request: RequestType>(
        _ type: Request.Type,
        _ prepare:
            @escaping @Sendable (Request, RequestContext) -> (
                @Sendable () async throws(ResponseError) -> Request.Response
            )
    ) {
        entries[Request.method] = { params, context in
            Self.decode(Request.self, params).map { request in
                let work = prepare(request, context)
                return { await Self.result { () async throws(ResponseError) in try await work().json } }
            }
        }
    }

    private static func decode<Request: RequestType>(_ type: Request.Type, _ params: Params) -> Result<
        Request, ResponseError
    > {
        do throws(ResponseError) {
            return .success(try Request(params: params))
        } catch {
            return .failure(error)
        }
    }

    private static func result(
        _ body: () async throws(ResponseError) -> JSONValue
    ) async -> Result<JSONValue, ResponseError> {
        do throws(ResponseError) {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }
}
