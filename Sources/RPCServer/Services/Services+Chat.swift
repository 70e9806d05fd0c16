import Basics
import Bedrock
import FoundationEssentials
import JSON

/// The params of `chat/stream` and `chat/send`, checked.
public struct ChatRequest: Sendable {
    public var content: [ContentBlock]
    public var sessionID: String?
    public var model: String?
    public var backend: String?
    public var system: [JSONValue]?
    public var inferenceConfig: JSONValue?
    public var toolConfig: JSONValue?
    public var additionalModelRequestFields: JSONValue?
    /// Converse fields sent as they are (`ConverseRequest.passthroughFields`: guardrailConfig,
    /// performanceConfig, serviceTier, requestMetadata, additionalModelResponseFieldPaths); they take
    /// precedence over the backend's defaults (requestMetadata is merged key by key).
    public var passthrough: JSONObject = [:]
    /// A reasoning budget in tokens, for models that reason (mapped to the model's own field).
    public var thinkingBudget: Int?
    /// Where prompt-cache points go (nil: the backend's setting, else auto).
    public var cache: PromptCachePlanner.Policy?
    public var ephemeral: Bool

    public init(
        prompt: String?, content: [ContentBlock] = [], sessionID: String? = nil, model: String? = nil,
        backend: String? = nil, system: String? = nil, inferenceConfig: JSONValue? = nil, ephemeral: Bool = false
    ) {
        self.content = (prompt.map { [ContentBlock.text($0)] } ?? []) + content
        self.sessionID = sessionID
        self.model = model
        self.backend = backend
        self.system = system.map { [["text": .string($0)]] }
        self.inferenceConfig = inferenceConfig
        self.ephemeral = ephemeral
    }
}

/// What a turn's input comes to: `chat/countTokens` and `contenox tokens`.
public struct TokenCount: Sendable, Equatable {
    public var inputTokens: Int
    public var model: String
    public var backend: String
    /// The model's context window in tokens, when the catalog knows it.
    public var contextWindow: Int?
}

/// What a chat turn produced: the result of `chat/stream` and `chat/send`.
public struct ChatResult: Sendable {
    public var sessionID: String?
    public var model: String
    public var backend: String
    public var stopReason: String
    public var message: ConverseMessage
    public var usage: JSONValue
    public var metrics: JSONValue
    /// Set when a guardrail or content filter, not the model, ended the answer.
    public var guardrail: GuardrailOutcome? = nil

    /// The assistant's text blocks joined.
    public var text: String {
        message.content.compactMap { if case .text(let s) = $0 { return s } else { return nil } }.joined()
    }
}

extension Services {
    /// How often a streaming answer's partial text is written to the store, so a killed server
    /// leaves what it had received.
    static let partialSaveInterval: Duration = .seconds(1)

    /// Takes the next turn of a session, in the order of the calls: turns of one session run one after
    /// another, each seeing the answers of those before it. A surface calls this as each request arrives
    /// (before its work is scheduled) and passes the turn to `chat`; nil for a chat that starts a session.
    public func reserveTurn(sessionID: String?) -> SessionTurn? {
        sessionID.map { turns.reserve($0) }
    }

    /// Runs one chat turn. The user's turn is stored before Bedrock is called; a streamed answer is saved
    /// as it grows and marked incomplete if it is cancelled or fails, so nothing typed or received is lost.
    /// Turns of one session run one at a time, in the order their `turn`s were reserved.
    ///
    /// `events` receives `.started`, then each block start and delta as it is decoded (streaming only).
    /// Throws ServiceError, or CancellationError when the calling task was cancelled.
    public func chat(
        _ request: ChatRequest, streaming: Bool, turn: SessionTurn? = nil,
        events: @Sendable (ChatEvent) async -> Void
    ) async throws -> ChatResult {
        let turn = turn ?? reserveTurn(sessionID: request.sessionID)
        defer { turn?.end() }
        await turn?.begin()
        try Task.checkCancellation()
        return try await runTurn(request, streaming: streaming, events: events)
    }

    private func runTurn(
        _ request: ChatRequest, streaming: Bool, events: @Sendable (ChatEvent) async -> Void
    ) async throws -> ChatResult {
        let started = ContinuousClock.now
        let (session, backend, model) = try target(of: request)
        let userMessage = ConverseMessage(role: .user, content: request.content)
        // Built before the turn is stored: the history, then this turn.
        let converse = try conversation(request, model: model, backend: backend, session: session, dropLast: false)
        let client = client(for: backend)
        try await checkContextWindow(converse, client: client)

        var sessionID = session?.id
        if !request.ephemeral {
            if sessionID == nil {
                let id = UUID().uuidString.lowercased()
                try stored { () throws(StoreError) in
                    try store.createSession(
                        id: id, title: Self.title(for: request.content), model: model, backend: backend.name)
                }
                sessionID = id
            }
            let id = sessionID!
            if let session, session.messageCount == 0 {
                // A session made empty (ACP's session/new) is named after its first prompt.
                try stored { () throws(StoreError) in
                    try store.setSession(id: id, title: Self.title(for: request.content))
                }
            }
            _ = try stored { () throws(StoreError) in
                try store.appendMessage(
                    sessionID: id, role: "user", content: .array(userMessage.content.map(\.json)),
                    status: "complete")
            }
        }

        let persist = !request.ephemeral ? sessionID : nil

        var response: (message: ConverseMessage, stopReason: String, usage: JSONValue, metrics: JSONValue?)
        await events(.started(sessionID: sessionID))
        let planned = PromptCachePlanner(policy: request.cache ?? backend.cachePolicy ?? .auto).plan(converse)
        do {
            response = try await send(planned, streaming: streaming, client: client, persist: persist, events: events)
        } catch let error as ServiceError
            where PromptCachePlanner.existingPoints(planned) > 0 && error.bedrock?.refusesPromptCaching == true
        {
            // A model (or a profile) that does not cache: the same turn once more without any cache point.
            response = try await send(
                PromptCachePlanner.withoutCachePoints(planned), streaming: streaming, client: client, persist: persist,
                events: events)
        }
        response.usage = Self.withCacheUsage(response.usage)
        if let persist {
            let usage = response.usage
            try stored { () throws(StoreError) in
                try store.addUsage(
                    sessionID: persist, input: usage["inputTokens"]?.intValue ?? 0,
                    output: usage["outputTokens"]?.intValue ?? 0, total: usage["totalTokens"]?.intValue ?? 0,
                    cacheRead: usage["cacheReadInputTokens"]?.intValue ?? 0,
                    cacheWrite: usage["cacheWriteInputTokens"]?.intValue ?? 0)
                try store.updateSession(
                    id: persist, model: model, backend: backend.name, toolConfig: request.toolConfig)
            }
        }
        let elapsed = ContinuousClock.now - started
        let latency =
            response.metrics ?? [
                "latencyMs": .int(
                    Int64(
                        elapsed.components.seconds * 1000
                            + elapsed.components.attoseconds / 1_000_000_000_000_000))
            ]
        var result = ChatResult(
            sessionID: sessionID, model: model, backend: backend.name, stopReason: response.stopReason,
            message: response.message, usage: response.usage, metrics: latency)
        result.guardrail = GuardrailOutcome(stopReason: response.stopReason, metrics: latency, request: converse)
        return result
    }

    /// The session a request continues (nil for a new one), and the backend and model it uses: the
    /// request's, else the session's, else `default-provider` / `default-model`.
    func target(of request: ChatRequest) throws(ServiceError) -> (SessionRecord?, BackendRecord, String) {
        var session: SessionRecord?
        if let id = request.sessionID {
            session = try stored { () throws(StoreError) in try store.session(id: id) }
            guard session != nil else {
                throw ServiceError(
                    .notFound, type: "SessionNotFound", message: "no session \(id.quoted())",
                    hint:
                        "List sessions with session/list (`contenox session list`), or leave sessionId out to start one."
                )
            }
        }
        let backend = try resolveBackend(request.backend ?? session?.backend)
        var chosen = request.model ?? session?.model
        if chosen == nil { chosen = try config("default-model") }
        guard let model = chosen else {
            let prefix = InferenceProfilePrefix.forRegion(effectiveRegion(backend))
            throw ServiceError(
                .configuration, type: "ModelNotSet", message: "no model given and no default model is set",
                hint: "Run: `contenox config set default-model \(prefix).anthropic.claude-sonnet-4-20250514-v1:0` "
                    + "(`contenox model list` shows the ids), or pass a model.")
        }
        return (session, backend, model)
    }

    /// What Bedrock is sent for a turn: the session's history as Bedrock accepts it (without its last stored
    /// message when `dropLast`: the turn just stored), then the request's content, with the session's tools
    /// when the history holds tool blocks.
    func conversation(
        _ request: ChatRequest, model: String, backend: BackendRecord, session: SessionRecord?, dropLast: Bool
    ) throws(ServiceError) -> ConverseRequest {
        var history: [ConverseMessage] = []
        if let id = session?.id {
            let stored = try stored { () throws(StoreError) in try store.messages(sessionID: id) }
            history = Self.replayable(dropLast ? Array(stored.dropLast()) : stored)
        }
        history.append(ConverseMessage(role: .user, content: request.content))
        let hasToolBlocks = history.contains { message in
            message.content.contains {
                switch $0 {
                case .toolUse, .toolResult: return true
                default: return false
                }
            }
        }
        let toolConfig = request.toolConfig ?? (hasToolBlocks ? session?.toolConfig : nil)
        var converse = ConverseRequest(
            modelID: model, messages: history, system: request.system, inferenceConfig: request.inferenceConfig,
            toolConfig: toolConfig, additionalModelRequestFields: request.additionalModelRequestFields)
        if let budget = request.thinkingBudget { try Self.applyThinking(budget, to: &converse) }
        converse.passthrough = backend.requestDefaults
        for (key, value) in request.passthrough {
            if key == "requestMetadata", case .object(var merged)? = converse.passthrough[key],
                case .object(let own) = value
            {
                for (name, text) in own { merged[name] = text }
                converse.passthrough[key] = .object(merged)
            } else {
                converse.passthrough[key] = value
            }
        }
        return converse
    }

    /// Sends one turn, streamed or whole; a whole answer is stored here (a streamed one as it grows).
    private func send(
        _ converse: ConverseRequest, streaming: Bool, client: BedrockClient, persist: String?,
        events: @Sendable (ChatEvent) async -> Void
    ) async throws -> (message: ConverseMessage, stopReason: String, usage: JSONValue, metrics: JSONValue?) {
        if streaming { return try await stream(converse, client: client, persist: persist, events: events) }
        let answer: ConverseResponse
        do {
            answer = try await client.converse(converse)
        } catch {
            if error.kind == .cancelled { throw CancellationError() }
            throw ServiceError(error)
        }
        if let persist {
            _ = try stored { () throws(StoreError) in
                try store.appendMessage(
                    sessionID: persist, role: "assistant", content: .array(answer.message.content.map(\.json)),
                    status: "complete")
            }
        }
        return (answer.message, answer.stopReason, answer.usage, answer.metrics)
    }

    /// Usage with the prompt cache's two counts always present (0 when nothing was cached).
    static func withCacheUsage(_ usage: JSONValue) -> JSONValue {
        var object = usage.objectValue ?? [:]
        for key in ["cacheReadInputTokens", "cacheWriteInputTokens"] where object[key] == nil { object[key] = 0 }
        return .object(object)
    }

    /// Sets a reasoning budget in the model's own field, and a maxTokens above it (the models that take one
    /// refuse a budget that leaves no room for the answer).
    static func applyThinking(_ budget: Int, to converse: inout ConverseRequest) throws(ServiceError) {
        guard budget >= 1024 else {
            throw ServiceError(
                .invalidParams, type: "InvalidThinkingBudget",
                message: "a reasoning budget must be at least 1024 tokens",
                hint: "Give --thinking 1024 or more (thinking: {budgetTokens: 1024}).")
        }
        guard let fields = ModelCatalog.reasoningFields(model: converse.modelID, budget: budget) else {
            throw ServiceError(
                .invalidParams, type: "ThinkingNotSupported",
                message: "\(converse.modelID.quoted()) takes no reasoning budget",
                hint: "Use a model that reasons with a budget (Claude 3.7 Sonnet, Claude Sonnet 4 / 4.5, Opus 4 / 4.1, "
                    + "Haiku 4.5), or leave the budget out.")
        }
        var additional = converse.additionalModelRequestFields?.objectValue ?? [:]
        for (key, value) in fields { additional[key] = value }
        converse.additionalModelRequestFields = .object(additional)
        var inference = converse.inferenceConfig?.objectValue ?? [:]
        if (inference["maxTokens"]?.intValue ?? 0) <= Int64(budget) {
            inference["maxTokens"] = .int(Int64(budget) + 4096)
        }
        converse.inferenceConfig = .object(inference)
    }

    /// What a turn's input would come to in tokens (history, system prompt, tools and the new content),
    /// through Bedrock's CountTokens; nothing is stored or sent to the model.
    public func countTokens(_ request: ChatRequest) async throws(ServiceError) -> TokenCount {
        let (session, backend, model) = try target(of: request)
        let converse = try conversation(request, model: model, backend: backend, session: session, dropLast: false)
        do throws(BedrockError) {
            let tokens = try await client(for: backend).countTokens(converse)
            return TokenCount(
                inputTokens: tokens, model: model, backend: backend.name,
                contextWindow: ModelCatalog.contextWindow(of: model))
        } catch {
            throw ServiceError(error)
        }
    }

    /// Fails a turn that cannot fit the model's context window before it is sent (and before it is
    /// stored). A request whose text is clearly far below the window is not counted; one that may be near it
    /// is counted exactly with CountTokens (free), when the model has it: a model without it is left to
    /// Bedrock to judge.
    func checkContextWindow(_ converse: ConverseRequest, client: BedrockClient) async throws(ServiceError) {
        guard let window = ModelCatalog.contextWindow(of: converse.modelID) else { return }
        // Half the window leaves room for text denser than the estimate's four bytes a token.
        let estimate = ModelCatalog.estimatedTokens(converse.bodyJSON)
        guard estimate >= window / 2 else { return }
        let tokens: Int
        do {
            tokens = try await client.countTokens(converse)
        } catch {
            return
        }
        guard tokens > window else { return }
        throw ServiceError(
            .invalidParams, type: "ContextWindowExceeded",
            message: "the prompt comes to \(tokens) input tokens, more than \(converse.modelID)'s context window of "
                + "\(window)",
            hint: "Shorten the prompt or the attached files, start a new session (leave sessionId out), "
                + "or choose a model with a larger window (see `contenox model list`).")
    }

    private func stream(
        _ converse: ConverseRequest, client: BedrockClient, persist: String?,
        events: @Sendable (ChatEvent) async -> Void
    ) async throws -> (message: ConverseMessage, stopReason: String, usage: JSONValue, metrics: JSONValue?) {
        var assembler = StreamAssembler()
        var assistantRow: Int64?
        var lastSave = ContinuousClock.now

        /// Writes what has arrived so far; `status` is incomplete until the answer is whole.
        func save(_ status: String) {
            guard let persist else { return }
            let content = JSONValue.array(
                Self.storable(assembler.message, complete: status == "complete").content.map(\.json))
            do {
                if let row = assistantRow {
                    try store.updateMessage(rowID: row, content: content, status: status)
                } else if status == "complete" || content != .array([]) {
                    assistantRow = try store.appendMessage(
                        sessionID: persist, role: "assistant", content: content, status: status)
                }
            } catch {
                // The answer still reaches the client; the store's failure is reported in the log only.
                FileDescriptorIO.writeAll(2, "contenox: could not save the answer: \(error)\n")
            }
            lastSave = ContinuousClock.now
        }

        // The loop below never waits for the client: events go through the outbox, which a sender drains
        // at the client's pace, merging deltas while it waits (see ChatEventOutbox).
        let outbox = ChatEventOutbox()
        async let sent: Void = {
            // A cancelled request was answered already: what is still queued is dropped.
            while !Task.isCancelled, let event = await outbox.next() { await events(event) }
        }()
        do {
            var notes: [ChatEvent] = []
            let retries = client.converseStream(converse) { notice in outbox.push([.retrying(notice)]) }
            for try await batch in retries.batches {
                for event in batch {
                    assembler.apply(event)
                    switch event {
                    case .contentBlockStart(let index, let start): notes.append(.blockStart(index: index, start: start))
                    case .textDelta(let index, let text): notes.append(.text(index: index, text: text))
                    case .contentBlockDelta(let index, let delta): notes.append(.delta(index: index, delta: delta))
                    default: break
                    }
                }
                outbox.push(notes)
                notes.removeAll(keepingCapacity: true)
                if ContinuousClock.now - lastSave >= Self.partialSaveInterval { save("incomplete") }
            }
            // Every notification goes out before the result.
            outbox.finish()
            await sent
        } catch let error as BedrockError {
            outbox.finish()
            save("incomplete")
            // A cancelled task can see the transfer's own cancelled failure before it sees its own
            // cancellation; either way the caller was cancelled, not failed.
            if error.kind == .cancelled { throw CancellationError() }
            throw ServiceError(error)
        } catch {
            outbox.finish()
            save("incomplete")
            throw error
        }
        if Task.isCancelled {
            save("incomplete")
            throw CancellationError()
        }
        guard let stopReason = assembler.stopReason else {
            save("incomplete")
            throw ServiceError(
                BedrockError(
                    type: "StreamCorrupt", message: "the answer stream ended before its messageStop event",
                    retryable: true,
                    hint: "Try again; if it keeps happening, check the network or proxy between you and Bedrock."))
        }
        save("complete")
        return (
            assembler.message, stopReason, assembler.usage ?? ["inputTokens": 0, "outputTokens": 0, "totalTokens": 0],
            assembler.metrics
        )
    }

    /// A session title: the first line of the first prompt, shortened.
    static func title(for content: [ContentBlock]) -> String {
        let text =
            content.compactMap { if case .text(let s) = $0 { return s } else { return nil } }.first ?? "(attachment)"
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text
        let trimmed = line.trimmingWhitespace()
        return trimmed.count > 60 ? String(trimmed.prefix(59)) + "…" : (trimmed.isEmpty ? "(untitled)" : trimmed)
    }

    /// What of an answer may be stored and sent back later: an unfinished toolUse (its input may be cut
    /// off) would need a toolResult, and unsigned reasoning is refused by Bedrock, so a partial answer
    /// keeps only its text and signed reasoning.
    static func storable(_ message: ConverseMessage, complete: Bool) -> ConverseMessage {
        guard !complete else { return message }
        var kept = message
        kept.content = message.content.filter { block in
            switch block {
            case .text(let s): return !s.trimmingWhitespaceAndNewlines().isEmpty
            case .reasoning(_, let signature): return signature != nil
            case .toolUse: return false
            default: return true
            }
        }
        return kept
    }

    /// The stored turns as Bedrock accepts them: turns that never got an answer and empty partial answers
    /// are skipped, a partial answer keeps its text, and the history starts with the user (consecutive
    /// same-role turns are merged when the request is built).
    static func replayable(_ stored: [StoredMessage]) -> [ConverseMessage] {
        var messages: [ConverseMessage] = []
        for entry in stored where entry.status != "error" {
            guard let message = try? ConverseMessage(json: ["role": .string(entry.role), "content": entry.content])
            else {
                continue
            }
            let usable = storable(message, complete: entry.status == "complete")
            if usable.content.isEmpty { continue }
            if messages.isEmpty && usable.role != .user { continue }
            messages.append(usable)
        }
        return messages
    }
}
