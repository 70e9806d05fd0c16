import Basics
import Glibc
import JSON
import JSONRPC
import Locking

/// A method handler. It sees only its params and a context to send notifications through; it knows
/// nothing of stdio, framing or ids in flight, so it can be tested in-process.
public typealias Handler = @Sendable (Params, RequestContext) async throws(ResponseError) -> JSONValue

/// What a running request may do besides returning its result.
public struct RequestContext: Sendable {
    /// The request's id exactly as the client sent it.
    public let id: JSONValue
    let send: @Sendable (Message) async -> Void

    public init(id: JSONValue, send: @escaping @Sendable (Message) async -> Void) {
        self.id = id
        self.send = send
    }

    /// Sends a notification now, ahead of the request's response. Waits while the client is not
    /// reading (back-pressure), so a stream never runs ahead of its reader without bound.
    public func notify(_ method: String, _ params: JSONValue) async {
        await send(.notification(method: method, params: params))
    }
}

/// The methods a server answers, by name.
public struct MethodTable: Sendable {
    public private(set) var handlers: [String: Handler] = [:]

    public init() {}

    public mutating func register(_ method: String, _ handler: @escaping Handler) {
        handlers[method] = handler
    }
}

public enum Framing: String, Sendable, CaseIterable {
    case lsp
    case ndjson
}

/// JSON-RPC 2.0 over a pair of file descriptors (stdin and stdout for `contenox serve`).
///
/// A reader thread blocks in read(2) and feeds the framer; lifecycle checks run in arrival order on
/// that thread, and each request then runs in a Task of its own, listed in the in-flight table by id
/// so `$/cancelRequest` can cancel it. One `OutputWriter` owns the output.
public final class JSONRPCServer: Sendable {
    public struct Configuration: Sendable {
        public var framing: Framing = .lsp
        public var maxMessageBytes = 64 << 20
        public var version = "0.0.0"
        /// Notifications the server sends, listed in `initialize`'s capabilities.
        public var serverNotifications: [String] = []
        /// How long in-flight requests get to finish (and save what they have) when the server stops.
        public var drainTimeout: Double = 3
        /// Called as `initialize` is answered, once its answer is built (to start background work such as
        /// `Services.prewarm`); it must return at once.
        public var onInitialize: (@Sendable () -> Void)?

        public init() {}
    }

    private struct Lifecycle {
        var initialized = false
        var shutdown = false
        var finished = false
        var inFlight: [JSONValue: Task<Void, Never>?] = [:]
    }

    private static let lifecycleMethods = ["initialize", "shutdown"]
    private static let clientNotifications = ["initialized", "exit", "$/cancelRequest"]

    private let methods: MethodTable
    private let configuration: Configuration
    private let logger: Logger
    private let input: Int32
    private let state = LockedValue(Lifecycle())
    private let writer: LockedValue<OutputWriter?> = LockedValue(nil)
    private let completion = LockedValue<CheckedContinuation<Int32, Never>?>(nil)
    private let exitCode = LockedValue<Int32?>(nil)

    public init(methods: MethodTable, configuration: Configuration, logger: Logger, input: Int32 = 0, output: Int32 = 1)
    {
        self.methods = methods
        self.configuration = configuration
        self.logger = logger
        self.input = input
        let writer = OutputWriter(fd: output) { [weak self] in
            self?.logger.info("output closed; stopping")
            self?.finish(code: 1)
        }
        self.writer.withLock { $0 = writer }
    }

    private var output: OutputWriter { writer.withLock { $0! } }

    /// Serves until `exit`, end of input, or a closed output; returns the process exit code
    /// (0 after `shutdown`, 1 otherwise).
    public func run() async -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        return await withCheckedContinuation { continuation in
            completion.withLock { $0 = continuation }
            if let code = exitCode.withLock({ $0 }) {
                completion.withLock { $0 = nil }
                continuation.resume(returning: code)
                return
            }
            DetachedThread.start(name: "contenox-stdin") { [self] in readLoop() }
        }
    }

    // MARK: Reading

    private func readLoop() {
        switch configuration.framing {
        case .lsp:
            var framer = ContentLengthFramer(maxMessageBytes: configuration.maxMessageBytes)
            readLoop(&framer)
        case .ndjson:
            var framer = NDJSONFramer(maxMessageBytes: configuration.maxMessageBytes)
            readLoop(&framer)
        }
    }

    private func readLoop<F: MessageFramer>(_ framer: inout F) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !state.withLock({ $0.finished }) {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                if framer.hasPartialFrame { logger.warn("input ended in the middle of a message") }
                logger.info("end of input")
                finish(code: state.withLock { $0.shutdown } ? 0 : 1)
                return
            }
            buffer.withUnsafeBytes { framer.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            while let event = framer.nextFrame() {
                switch event {
                case .frame(let body):
                    handleFrame(body)
                case .error(let error):
                    logger.warn("framing: \(error.message)")
                    sendNow(.response(id: .null, result: .failure(.invalidRequest("invalid frame: \(error.message)"))))
                }
            }
        }
    }

    func handleFrame(_ body: [UInt8]) {
        switch Incoming.decode(body) {
        case .parseError(let error):
            sendNow(.response(id: .null, result: .failure(error)))
        case .single(.failure(let invalid)):
            sendNow(invalid.response)
        case .single(.success(let message)):
            if let work = accept(message) {
                let id = message.id ?? .null
                start(id: id) { [self] in
                    if let response = await work() { await send(response) }
                }
            }
        case .batch(let items):
            // Lifecycle checks run now, in order; each request then runs in a Task of its own, tracked in
            // the in-flight table like a single request (so `$/cancelRequest` and end of input reach it);
            // the answers go out together once all are done.
            let works: [(id: JSONValue?, work: @Sendable () async -> Message?)] = items.compactMap { item in
                switch item {
                case .failure(let invalid): return (nil, { invalid.response })
                case .success(let message): return accept(message).map { (message.id, $0) }
                }
            }
            guard !works.isEmpty else { return }
            let results = BatchResults(count: works.count)
            let tasks = works.enumerated().map { index, entry in
                start(id: entry.id ?? .null) { results.set(index, await entry.work()) }
            }
            Task {
                for task in tasks { await task.value }
                let responses = results.all
                guard !responses.isEmpty else { return }
                await send(json: .array(responses.map(\.json)))
            }
        }
    }

    /// The answers of one batch, filled in by its requests' tasks in any order.
    private final class BatchResults: Sendable {
        private let slots: LockedValue<[Message?]>
        init(count: Int) { slots = LockedValue(Array(repeating: nil, count: count)) }
        func set(_ index: Int, _ message: Message?) { slots.withLock { $0[index] = message } }
        /// The answers present, in request order (cancelled requests were answered on their own).
        var all: [Message] { slots.withLock { $0.compactMap { $0 } } }
    }

    // MARK: Dispatch

    /// Applies the lifecycle rules to one message, in arrival order. Returns the work that answers it
    /// (nil for notifications, which are handled here); requests are registered as in flight.
    private func accept(_ message: Message) -> (@Sendable () async -> Message?)? {
        switch message {
        case .response:
            return nil  // The server sends no requests, so answers are ignored.
        case .notification(let method, let params):
            handleNotification(method, params)
            return nil
        case .request(let id, let method, let params):
            if let refusal = checkLifecycle(id: id, method: method) {
                return { refusal }
            }
            switch method {
            case "initialize":
                return { [self] in
                    defer { configuration.onInitialize?() }
                    return .response(id: id, result: .success(initializeResult()))
                }
            case "shutdown":
                cancelAll(answering: true)
                return { .response(id: id, result: .success(.null)) }
            default:
                break
            }
            guard let handler = methods.handlers[method] else {
                return { .response(id: id, result: .failure(.methodNotFound(method: method))) }
            }
            let parsed: Params
            do {
                parsed = try Params(params)
            } catch {
                return { .response(id: id, result: .failure(error)) }
            }
            let registered = state.withLock { state -> Bool in
                guard state.inFlight[id] == nil else { return false }
                state.inFlight[id] = .some(nil)
                return true
            }
            guard registered else {
                let refusal = ResponseError.invalidRequest("a request with id \(id.jsonString) is already running")
                return { .response(id: id, result: .failure(refusal)) }
            }
            let context = RequestContext(id: id) { [self] message in await send(message) }
            return { [self] in
                let result: Result<JSONValue, ResponseError>
                do throws(ResponseError) {
                    result = .success(try await handler(parsed, context))
                } catch {
                    result = .failure(error)
                }
                // Only the first answer counts: a cancelled request was already answered with -32800.
                let stillRunning = state.withLock { $0.inFlight.removeValue(forKey: id) != nil }
                return stillRunning ? .response(id: id, result: result) : nil
            }
        }
    }

    private func checkLifecycle(id: JSONValue, method: String) -> Message? {
        state.withLock { state -> Message? in
            if state.shutdown {
                return .response(id: id, result: .failure(.invalidRequest("the server is shutting down")))
            }
            if method == "initialize" {
                if state.initialized {
                    return .response(id: id, result: .failure(.invalidRequest("initialize was already received")))
                }
                state.initialized = true
                return nil
            }
            if !state.initialized {
                return .response(id: id, result: .failure(.serverNotInitialized("send initialize first")))
            }
            if method == "shutdown" { state.shutdown = true }
            return nil
        }
    }

    private func handleNotification(_ method: String, _ params: JSONValue?) {
        switch method {
        case "exit":
            finish(code: state.withLock { $0.shutdown } ? 0 : 1)
        case "$/cancelRequest":
            guard let id = params?["id"] else {
                logger.warn("$/cancelRequest without an id")
                return
            }
            cancel(id)
        case "initialized":
            break
        default:
            logger.debug("ignoring notification \(method)")
        }
    }

    private func initializeResult() -> JSONValue {
        let names = (Self.lifecycleMethods + methods.handlers.keys).sorted()
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

    /// Runs a request's work in a Task recorded in the in-flight table under its id.
    @discardableResult
    private func start(id: JSONValue, _ body: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
        let task = Task { await body() }
        state.withLock { state in
            // Only requests registered by `accept` are tracked; the entry may already be gone if it finished.
            if case .some(.none) = state.inFlight[id] { state.inFlight[id] = .some(task) }
        }
        return task
    }

    /// Cancels a running request and answers it with -32800 at once.
    private func cancel(_ id: JSONValue) {
        let entry = state.withLock { $0.inFlight.removeValue(forKey: id) }
        guard let entry else {
            logger.debug("cancel for \(id.jsonString), which is not running")
            return
        }
        entry?.cancel()
        sendNow(.response(id: id, result: .failure(.requestCancelled())))
    }

    private func cancelAll(answering: Bool) {
        let entries = state.withLock { state -> [(JSONValue, Task<Void, Never>?)] in
            defer { state.inFlight.removeAll() }
            return state.inFlight.map { ($0.key, $0.value) }
        }
        for (id, task) in entries {
            task?.cancel()
            if answering { sendNow(.response(id: id, result: .failure(.requestCancelled()))) }
        }
    }

    /// Stops serving: cancels what runs, lets it save its state, flushes output, and returns `code` from `run`.
    func finish(code: Int32) {
        let first = state.withLock { state -> Bool in
            defer { state.finished = true }
            return !state.finished
        }
        guard first else { return }
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            state.inFlight.values.compactMap { $0 }
        }
        for task in tasks { task.cancel() }
        Task { [self] in
            await withTaskGroup(of: Void.self) { group in
                group.addTask { for task in tasks { await task.value } }
                group.addTask { [configuration] in try? await Task.sleep(for: .seconds(configuration.drainTimeout)) }
                await group.next()
                group.cancelAll()
            }
            output.flush(timeout: 2)
            exitCode.withLock { $0 = code }
            let continuation = completion.withLock { state -> CheckedContinuation<Int32, Never>? in
                defer { state = nil }
                return state
            }
            continuation?.resume(returning: code)
        }
    }

    // MARK: Writing

    /// The frame as pieces the writer writes in one go (no copy of the body to put a header before it).
    private func frame(_ json: JSONValue) -> [[UInt8]] {
        let body = json.serialized()
        switch configuration.framing {
        case .lsp: return [ContentLengthFramer.header(length: body.count), body]
        case .ndjson: return [body, [UInt8(ascii: "\n")]]
        }
    }

    private func send(_ message: Message) async {
        await output.send(frame(message.json))
    }

    private func send(json: JSONValue) async {
        await output.send(frame(json))
    }

    private func sendNow(_ message: Message) {
        output.sendNow(frame(message.json))
    }
}
