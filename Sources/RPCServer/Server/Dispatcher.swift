import Basics
import Dispatch
import JSON
import JSONRPC
import Locking

/// Where a dispatcher's answers go: a connection's writer. A message goes as the pieces of its JSON body,
/// written back to back (the connection frames them).
public protocol MessageOutput: Sendable {
    /// Queues one message, waiting while the peer is not reading (back-pressure).
    func send(_ body: [[UInt8]]) async
    /// The same, from a thread that may block (the reader's).
    func sendBlocking(_ body: [[UInt8]])
    /// Waits, at most `timeout` seconds, until everything queued is written or the peer is gone.
    func flush(timeout: Double)
}

/// JSON-RPC 2.0 dispatch and lifecycle, apart from any transport: a connection hands it each frame in
/// arrival order (`receive`), then `endOfInput`; it answers through a `MessageOutput`.
///
/// Lifecycle checks run in arrival order on the caller's thread; each request then runs in a task of its
/// own, listed in the in-flight table under a token of its own (an id may be reused once answered, and a
/// late completion must never answer somebody else's request). At most `maxRequestsInFlight` requests
/// (batch items included) run at once: past that, `receive` blocks its caller, so the connection stops
/// reading until answers drain, and no flood of requests grows memory without bound.
public final class Dispatcher: Sendable {
    public struct Configuration: Sendable {
        /// Who runs the connection's lifecycle.
        public enum Lifecycle: Sendable {
            /// The dispatcher, as LSP does it: `initialize` first (-32002 before it), `shutdown`, `exit`, and
            /// at end of input every request received is finished and answered.
            case lsp
            /// The method table (ACP): `initialize` is one of its methods, there is no `shutdown` or `exit`,
            /// and the end of input cancels what runs and finishes at once (exit code 0).
            case acp
        }

        public var lifecycle = Lifecycle.lsp
        public var version = "0.0.0"
        /// Notifications the server sends, listed in `initialize`'s capabilities.
        public var serverNotifications: [String] = []
        /// How long cancelled requests get to finish (and save what they have) when the server stops at once.
        public var drainTimeout: Double = 3
        /// Requests running at once, batch items included; past it `receive` waits.
        public var maxRequestsInFlight = 64
        /// Called once `initialize` is answered (e.g. to open the default backend's connection early). It
        /// must not block.
        public var onInitialize: (@Sendable () -> Void)?

        public init() {}
    }

    /// Where an answer goes: on its own, or into its batch's array.
    private enum Route: Sendable {
        case single
        case batch(BatchAnswers, Int)
    }

    /// A request that has been accepted and not yet answered.
    private struct Running {
        /// The id as a key (numbers normalised, so `$/cancelRequest` finds `1e2` under 100).
        var key: JSONValue
        var idText: [UInt8]
        var route: Route
        var task: Task<Void, Never>?
        /// Answered -32800 already; its own completion answers nothing.
        var cancelled = false
    }

    private struct Lifecycle {
        var initialized = false
        var shutdown = false
        var inputEnded = false
        var finished = false
        var nextToken: UInt64 = 0
        var running: [UInt64: Running] = [:]
        /// Running, not cancelled requests by id key: a second request with one of these ids is refused.
        var tokens: [JSONValue: UInt64] = [:]
        /// Requests this server sent to the client, by id, awaiting the client's response.
        var nextOutgoingID: Int64 = 0
        var outgoing: [Int64: CheckedContinuation<Result<JSONValue, ResponseError>, Never>] = [:]
    }

    private static let clientNotifications = [
        InitializedNotification.method, ExitNotification.method, CancelRequestNotification.method,
    ]

    private let methods: MethodTable
    private let configuration: Configuration
    private let logger: Logger
    private let output: any MessageOutput
    private let state = LockedValue(Lifecycle())
    /// One permit per request that may run; `receive` takes one, the request's task gives it back.
    private let permits = DispatchSemaphore(value: 0)
    private let completion = LockedValue<(code: Int32?, waiter: CheckedContinuation<Int32, Never>?)>((nil, nil))

    public init(methods: MethodTable, configuration: Configuration, logger: Logger, output: any MessageOutput) {
        self.methods = methods
        self.configuration = configuration
        self.logger = logger
        self.output = output
        // Created at 0 and raised, so that libdispatch does not object to a count below the initial one when
        // the semaphore goes away with requests still holding permits.
        for _ in 0..<max(1, configuration.maxRequestsInFlight) { permits.signal() }
    }

    /// Returns the exit code once the dispatcher has finished: 0 after `shutdown`, 1 otherwise.
    public func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let code = completion.withLock { state -> Int32? in
                if state.code == nil { state.waiter = continuation }
                return state.code
            }
            if let code { continuation.resume(returning: code) }
        }
    }

    public var isFinished: Bool { state.withLock { $0.finished } }

    // MARK: Input, in arrival order

    /// Handles one frame's body. Blocks while `maxRequestsInFlight` requests run.
    public func receive(_ body: [UInt8]) {
        guard !isFinished else { return }
        if let spans = body.withUnsafeBytes(JSONScanner.arrayElements), !spans.isEmpty {
            receiveBatch(body, spans)
            return
        }
        switch Incoming.decode(body) {
        case .parseError(let error):
            answerNow(.single, idText: Self.nullText, .failure(error))
        case .single(.failure(let invalid)):
            answerNow(.single, idText: idText(invalid.id, body[...]), .failure(invalid.error))
        case .single(.success(let message)):
            accept(message, text: body[...], route: .single)
        case .batch(let items):
            // The scanner could not walk an array jansson could read: decode its items from the value.
            let answers = BatchAnswers()
            for (index, item) in items.enumerated() { acceptItem(item, text: nil, answers: answers, index: index) }
            seal(answers)
        }
    }

    /// Answers a frame the connection could not read.
    public func receive(framingError error: FramingError) {
        logger.warn("framing: \(error.message)")
        answerNow(.single, idText: Self.nullText, .failure(.invalidRequest("invalid frame: \(error.message)")))
    }

    /// The input has ended: every request already received is finished and answered, then the dispatcher
    /// finishes (exit code 0 after `shutdown`, else 1).
    public func endOfInput() {
        if configuration.lifecycle == .acp {
            finish(code: 0, cancelling: true)
            return
        }
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            state.inputEnded = true
            return state.running.values.compactMap(\.task)
        }
        Task { [self] in
            for task in tasks { await task.value }
            finish(code: state.withLock { $0.shutdown } ? 0 : 1, cancelling: false)
        }
    }

    /// The output is gone (the client closed its end): nothing can be answered, so everything stops now.
    public func outputClosed() {
        logger.info("output closed; stopping")
        finish(code: 1, cancelling: true)
    }

    // MARK: Batches

    /// A batch is read one item at a time: every item is checked to be JSON first (a batch that is not JSON
    /// is one parse error, and none of it runs), then each is decoded and admitted in turn, through the same
    /// limit as single requests. Only the items' answers are held until the batch's array goes out.
    private func receiveBatch(_ body: [UInt8], _ spans: [Range<Int>]) {
        let invalid = body.withUnsafeBytes { raw in
            spans.lazy.compactMap { JSONValue.validate(UnsafeRawBufferPointer(rebasing: raw[$0])) }.first
        }
        if let invalid {
            answerNow(.single, idText: Self.nullText, .failure(.parseError("parse error: \(invalid)")))
            return
        }
        let answers = BatchAnswers()
        for (index, span) in spans.enumerated() {
            guard !isFinished else { return }
            let item: Result<Message, InvalidMessage>
            do {
                item = Incoming.decodeMessage(try JSONValue.parse(Array(body[span])))
            } catch {
                item = .failure(InvalidMessage(id: .null, error: .parseError("parse error: \(error)")))
            }
            acceptItem(item, text: body[span], answers: answers, index: index)
        }
        seal(answers)
    }

    private func acceptItem(
        _ item: Result<Message, InvalidMessage>, text: ArraySlice<UInt8>?, answers: BatchAnswers, index: Int
    ) {
        switch item {
        case .failure(let invalid):
            answers.expect(index)
            answerNow(.batch(answers, index), idText: idText(invalid.id, text), .failure(invalid.error))
        case .success(let message):
            if case .request = message { answers.expect(index) }
            accept(message, text: text, route: .batch(answers, index))
        }
    }

    /// Every item of the batch has been accepted; its array goes out once the last answer is in.
    private func seal(_ answers: BatchAnswers) {
        if let array = answers.seal() { output.sendBlocking([array]) }
    }

    // MARK: Dispatch

    private func accept(_ message: Message, text: ArraySlice<UInt8>?, route: Route) {
        switch message {
        case .response(let id, let result):
            let waiter = id.intValue.flatMap { id in state.withLock { $0.outgoing.removeValue(forKey: id) } }
            guard let waiter else {
                logger.debug("ignoring a response to \(id.jsonString.quoted()), which was not asked")
                return
            }
            waiter.resume(returning: result)
        case .notification(let method, let params):
            handleNotification(method, params)
        case .request(let id, let method, let params):
            let idText = idText(id, text)
            if let refusal = checkLifecycle(method: method) {
                answerNow(route, idText: idText, .failure(refusal))
                return
            }
            switch method {
            case InitializeRequest.method where configuration.lifecycle == .lsp:
                let result = Result { () throws(ResponseError) in
                    _ = try InitializeRequest(params: try Params(params))
                    return initializeResult()
                }
                start(id: id, idText: idText, route: route) {
                    result
                } then: { [configuration] in
                    configuration.onInitialize?()
                }
            case ShutdownRequest.method where configuration.lifecycle == .lsp:
                // Answered once everything received before it is answered.
                let before = state.withLock { $0.running.values.compactMap(\.task) }
                start(id: id, idText: idText, route: route) {
                    for task in before { await task.value }
                    return .success(VoidResponse().json)
                }
            default:
                guard let prepare = methods.entries[method] else {
                    answerNow(route, idText: idText, .failure(.methodNotFound(method: method)))
                    return
                }
                let context = RequestContext(id: id) { [self] message in
                    await output.send([Self.serialized(message, requestID: id, idText: idText)])
                } request: { [self] method, params in
                    await request(method, params)
                }
                switch Result(catching: { () throws(ResponseError) in try Params(params) }).flatMap({
                    prepare($0, context)
                }) {
                case .success(let work): start(id: id, idText: idText, route: route, work)
                case .failure(let error): answerNow(route, idText: idText, .failure(error))
                }
            }
        }
    }

    /// The lifecycle's refusal of a request, if any, in arrival order.
    private func checkLifecycle(method: String) -> ResponseError? {
        guard configuration.lifecycle == .lsp else { return nil }
        return state.withLock { state -> ResponseError? in
            if state.shutdown { return .invalidRequest("the server is shutting down") }
            if method == InitializeRequest.method {
                if state.initialized { return .invalidRequest("initialize was already received") }
                state.initialized = true
                return nil
            }
            if !state.initialized { return .serverNotInitialized("send initialize first") }
            if method == ShutdownRequest.method { state.shutdown = true }
            return nil
        }
    }

    private func handleNotification(_ method: String, _ params: JSONValue?) {
        if let handler = methods.notifications[method] {
            handler(params)
            return
        }
        guard configuration.lifecycle == .lsp else {
            logger.debug("ignoring notification \(method.quoted())")
            return
        }
        switch method {
        case ExitNotification.method:
            // After `shutdown`, whatever still runs was received before it and is owed an answer (a client
            // may write `shutdown` and `exit` in one go); without it, `exit` stops everything at once.
            let shutdown = state.withLock { $0.shutdown }
            finish(code: shutdown ? 0 : 1, cancelling: !shutdown)
        case CancelRequestNotification.method:
            do {
                cancel(try CancelRequestNotification(params: params).id)
            } catch {
                logger.warn("\(CancelRequestNotification.method) without an id")
            }
        case InitializedNotification.method:
            break
        default:
            // LSP clients send notifications of their own (textDocument/didOpen...): they need no answer.
            logger.debug("ignoring notification \(method.quoted())")
        }
    }

    private func initializeResult() -> JSONValue {
        let names = ([InitializeRequest.method, ShutdownRequest.method] + methods.methods).sorted()
        return [
            "serverInfo": ["name": "contenox", "version": .string(configuration.version)],
            "protocolVersion": 1,
            "capabilities": [
                "methods": .array(names.map(JSONValue.string)),
                "notifications": .array(
                    (Self.clientNotifications + configuration.serverNotifications).map(JSONValue.string)),
            ],
        ]
    }

    // MARK: Requests to the client

    /// Sends a request to the client and waits for its response. Ids are this server's own (0, 1, ...);
    /// a cancelled caller stops waiting (a late response is then ignored), and when the dispatcher
    /// finishes, every request still waiting fails.
    func request(_ method: String, _ params: JSONValue) async -> Result<JSONValue, ResponseError> {
        let id = state.withLock { state -> Int64? in
            guard !state.finished else { return nil }
            defer { state.nextOutgoingID += 1 }
            return state.nextOutgoingID
        }
        guard let id else { return .failure(.internalError("the connection is closing")) }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let refused = state.withLock { state -> Bool in
                    if state.finished || Task.isCancelled { return true }
                    state.outgoing[id] = continuation
                    return false
                }
                if refused {
                    continuation.resume(returning: .failure(.requestCancelled()))
                    return
                }
                Task { await output.send([Message.request(id: .int(id), method: method, params: params).serialized]) }
            }
        } onCancel: {
            state.withLock { $0.outgoing.removeValue(forKey: id) }?.resume(returning: .failure(.requestCancelled()))
        }
    }

    /// Registers a request as running and runs its work in a task; the answer goes out when it is done,
    /// unless it was cancelled (and answered) meanwhile. Waits for a permit first.
    private func start(
        id: JSONValue, idText: [UInt8], route: Route, _ work: @escaping MethodTable.Work,
        then after: (@Sendable () -> Void)? = nil
    ) {
        let key = Self.key(id)
        let token = state.withLock { state -> UInt64? in
            guard state.tokens[key] == nil else { return nil }
            state.nextToken += 1
            state.tokens[key] = state.nextToken
            state.running[state.nextToken] = Running(key: key, idText: idText, route: route)
            return state.nextToken
        }
        guard let token else {
            // The id is ambiguous: answering with it would pin this error on the running request.
            let refusal = ResponseError.invalidRequest(
                "a request with id \(String(decoding: idText, as: UTF8.self).quoted()) is already running")
            answerNow(route, idText: Self.nullText, .failure(refusal))
            return
        }
        permits.wait()
        let task = Task { [self] in
            defer { permits.signal() }
            let result = await work()
            // The id is free again once the answer is decided; the request leaves the table only once its
            // answer is queued, so that `shutdown` and end of input, which wait for what is in the table,
            // never overtake it.
            let stillMine = state.withLock { state -> Bool in
                guard let entry = state.running[token] else { return false }
                if state.tokens[entry.key] == token { state.tokens[entry.key] = nil }
                return !entry.cancelled
            }
            if stillMine { await answer(route, idText: idText, result) }
            state.withLock { _ = $0.running.removeValue(forKey: token) }
            after?()
        }
        state.withLock { state in
            if state.running[token] != nil { state.running[token]?.task = task }
        }
    }

    /// Cancels a running request and answers it -32800 at once; its own completion then answers nothing.
    private func cancel(_ id: JSONValue) {
        let entry = state.withLock { state -> Running? in
            let key = Self.key(id)
            guard let token = state.tokens.removeValue(forKey: key), var entry = state.running[token],
                !entry.cancelled
            else { return nil }
            entry.cancelled = true
            state.running[token] = entry
            return entry
        }
        guard let entry else {
            logger.debug("cancel for \(id.jsonString.quoted()), which is not running")
            return
        }
        entry.task?.cancel()
        // A cancelled batch item is answered on its own, at once, and leaves no entry in the batch's array.
        answerNow(.single, idText: entry.idText, .failure(.requestCancelled()))
        if case .batch(let answers, let index) = entry.route, let array = answers.set(index, nil) {
            output.sendBlocking([array])
        }
    }

    /// Stops: cancels what runs and gives it `drainTimeout` to save its state (when `cancelling`), or waits
    /// for it to finish and be answered; then flushes the output and completes `wait` with `code`.
    private func finish(code: Int32, cancelling: Bool) {
        let tasks = state.withLock { state -> [Task<Void, Never>]? in
            guard !state.finished else { return nil }
            state.finished = true
            return state.running.values.compactMap(\.task)
        }
        guard let tasks else { return }
        let waiting = state.withLock { state in
            defer { state.outgoing = [:] }
            return Array(state.outgoing.values)
        }
        for waiter in waiting { waiter.resume(returning: .failure(.internalError("the connection closed"))) }
        if cancelling { for task in tasks { task.cancel() } }
        Task { [self] in
            if cancelling {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { for task in tasks { await task.value } }
                    group.addTask { [configuration] in
                        try? await Task.sleep(for: .seconds(configuration.drainTimeout))
                    }
                    await group.next()
                    group.cancelAll()
                }
            } else {
                for task in tasks { await task.value }
            }
            output.flush(timeout: 2)
            let waiter = completion.withLock { state -> CheckedContinuation<Int32, Never>? in
                state.code = code
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: code)
        }
    }

    // MARK: Answers

    private static let nullText = Array("null".utf8)

    /// The id's JSON text as the client sent it, found in the message's own text; the id written anew when
    /// the text is not at hand or does not read back as the same id.
    private func idText(_ id: JSONValue, _ text: ArraySlice<UInt8>?) -> [UInt8] {
        if case .null = id { return Self.nullText }
        if let text,
            let span = text.withUnsafeBytes({ JSONScanner.memberValue($0, key: "id") }),
            case let raw = Array(text[(text.startIndex + span.lowerBound)..<(text.startIndex + span.upperBound)]),
            (try? JSONValue.parse(raw)) == id
        {
            return raw
        }
        return id.serialized()
    }

    /// `{"jsonrpc":"2.0","id":<the id's text>,"result"|"error":...}` as pieces, without copying the result.
    private static func response(idText: [UInt8], _ result: Result<JSONValue, ResponseError>) -> [[UInt8]] {
        var head = Array(#"{"jsonrpc":"2.0","id":"#.utf8)
        head.append(contentsOf: idText)
        switch result {
        case .success(let value):
            head.append(contentsOf: #","result":"#.utf8)
            return [head, value.serialized(), [UInt8(ascii: "}")]]
        case .failure(let error):
            head.append(contentsOf: #","error":"#.utf8)
            return [head, error.json.serialized(), [UInt8(ascii: "}")]]
        }
    }

    /// Answers from a request's task.
    private func answer(_ route: Route, idText: [UInt8], _ result: Result<JSONValue, ResponseError>) async {
        let pieces = Self.response(idText: idText, result)
        switch route {
        case .single:
            await output.send(pieces)
        case .batch(let answers, let index):
            if let array = answers.set(index, pieces.flatMap { $0 }) { await output.send([array]) }
        }
    }

    /// Answers on the reader's thread (refusals, errors found on arrival, cancellations).
    private func answerNow(_ route: Route, idText: [UInt8], _ result: Result<JSONValue, ResponseError>) {
        let pieces = Self.response(idText: idText, result)
        switch route {
        case .single:
            output.sendBlocking(pieces)
        case .batch(let answers, let index):
            if let array = answers.set(index, pieces.flatMap { $0 }) { output.sendBlocking([array]) }
        }
    }

    /// A notification a request sends, with its `requestId` written as the client wrote the request's id.
    private static func serialized(_ message: Message, requestID id: JSONValue, idText: [UInt8]) -> [UInt8] {
        guard case .notification(let method, .object(var params)?) = message, params["requestId"] == id,
            id.serialized() != idText
        else { return message.serialized }
        // A marker jansson writes escaped (control characters), set where the id goes, then replaced by the
        // id's text. It is the first member, so the first match is the id's place.
        let marker = "\u{1}contenox-request-id\u{1}"
        params["requestId"] = .string(marker)
        let body = Message.notification(method: method, params: .object(params)).serialized
        let escaped = JSONValue.string(marker).serialized()
        guard let range = body.firstRange(of: escaped) else { return message.serialized }
        return Array(body[..<range.lowerBound]) + idText + Array(body[range.upperBound...])
    }

    /// Numbers by value (`1e2` and `100` are one id), everything else as it is.
    private static func key(_ id: JSONValue) -> JSONValue {
        if case .double = id, let integer = id.intValue { return .int(integer) }
        return id
    }
}

/// The answers of one batch, appended to its array as they come (JSON-RPC lets a batch's answers come in
/// any order; clients match them by id), so a batch holds its answers' bytes and nothing per item. The
/// array is written once every expected answer is in and the batch has been read to its end.
private final class BatchAnswers: Sendable {
    private struct State {
        var array: [UInt8] = [UInt8(ascii: "[")]
        var answered = 0
        var expected = 0
        var sealed = false
        var sent = false
    }

    private let state = LockedValue(State())

    /// One more item will be answered (requests and invalid items; not notifications).
    func expect(_ index: Int) { state.withLock { $0.expected += 1 } }

    /// Adds an answer (nil: the item was answered on its own); returns the array when it is complete.
    func set(_ index: Int, _ answer: [UInt8]?) -> [UInt8]? {
        state.withLock { state -> [UInt8]? in
            state.expected -= 1
            if let answer {
                if state.answered > 0 { state.array.append(UInt8(ascii: ",")) }
                state.array.append(contentsOf: answer)
                state.answered += 1
            }
            return Self.takeArray(&state)
        }
    }

    /// Every item has been read; returns the array when every answer is in already.
    func seal() -> [UInt8]? {
        state.withLock { state -> [UInt8]? in
            state.sealed = true
            return Self.takeArray(&state)
        }
    }

    private static func takeArray(_ state: inout State) -> [UInt8]? {
        guard state.sealed, state.expected == 0, !state.sent else { return nil }
        state.sent = true
        // A batch whose items all went unanswered (notifications, cancelled requests) gets no answer.
        guard state.answered > 0 else { return nil }
        var array: [UInt8] = []
        swap(&array, &state.array)
        array.append(UInt8(ascii: "]"))
        return array
    }
}
