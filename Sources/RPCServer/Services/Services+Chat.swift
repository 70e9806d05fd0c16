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

/// What a chat turn produced: the result of `chat/stream` and `chat/send`.
public struct ChatResult: Sendable {
    public var sessionID: String?
    public var model: String
    public var backend: String
    public var stopReason: String
    public var message: ConverseMessage
    public var usage: JSONValue
    public var metrics: JSONValue

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
        guard let model = try request.model ?? session?.model ?? config("default-model") else {
            let prefix = InferenceProfilePrefix.forRegion(effectiveRegion(backend))
            throw ServiceError(
                .configuration, type: "ModelNotSet", message: "no model given and no default model is set",
                hint: "Run: `contenox config set default-model \(prefix).anthropic.claude-sonnet-4-20250514-v1:0` "
                    + "(`contenox model list` shows the ids), or pass a model.")
        }
        let userMessage = ConverseMessage(role: .user, content: request.content)

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

        var history: [ConverseMessage] = []
        if let id = session?.id {
            let stored = try stored { () throws(StoreError) in try store.messages(sessionID: id) }
            // The turn just stored is the last one; earlier ones are the history.
            history = Self.replayable(request.ephemeral ? stored : Array(stored.dropLast()))
        }
        history.append(userMessage)
        let hasToolBlocks = history.contains { message in
            message.content.contains {
                if case .toolUse = $0 {
                    return true
                } else if case .toolResult = $0 {
                    return true
                } else {
                    return false
                }
            }
        }
        let toolConfig = request.toolConfig ?? (hasToolBlocks ? session?.toolConfig : nil)
        let converse = ConverseRequest(
            modelID: model, messages: history, system: request.system, inferenceConfig: request.inferenceConfig,
            toolConfig: toolConfig, additionalModelRequestFields: request.additionalModelRequestFields)
        let client = client(for: backend)
        let persist = !request.ephemeral ? sessionID : nil

        let response: (message: ConverseMessage, stopReason: String, usage: JSONValue, metrics: JSONValue?)
        await events(.started(sessionID: sessionID))
        if streaming {
            response = try await stream(converse, client: client, persist: persist, events: events)
        } else {
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
                        sessionID: persist, role: "assistant",
                        content: .array(answer.message.content.map(\.json)), status: "complete")
                }
            }
            response = (answer.message, answer.stopReason, answer.usage, answer.metrics)
        }
        if let persist {
            let usage = response.usage
            try stored { () throws(StoreError) in
                try store.addUsage(
                    sessionID: persist, input: usage["inputTokens"]?.intValue ?? 0,
                    output: usage["outputTokens"]?.intValue ?? 0, total: usage["totalTokens"]?.intValue ?? 0)
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
        return ChatResult(
            sessionID: sessionID, model: model, backend: backend.name, stopReason: response.stopReason,
            message: response.message, usage: response.usage, metrics: latency)
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
            for try await batch in client.converseStream(converse).batches {
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
