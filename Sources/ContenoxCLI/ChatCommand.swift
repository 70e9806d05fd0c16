import ArgumentParser
import Basics
import Bedrock
import Dispatch
import Glibc
import JSON
import Locking
import RPCServer

struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat", abstract: "Send a prompt and stream the answer to stdout as it arrives.",
        discussion: "Ctrl-C cancels the request; what arrived is kept in the session, marked incomplete.")

    @Argument(help: "The prompt; '-' or nothing reads it from stdin.") var prompt: String?
    @Option(help: "A session id, 'new' (default) or 'last' to continue the most recent one.") var session = "new"
    @Option(help: "Model or inference-profile id (default: the session's, else default-model).") var model: String?
    @Option(help: "Backend name (default: the session's, else default-provider).") var backend: String?
    @Option(help: "A system prompt.") var system: String?
    @Option(help: "inferenceConfig.maxTokens.") var maxTokens: Int?
    @Option(help: "inferenceConfig.temperature (0 to 1).") var temperature: Double?
    @Option(help: "A guardrail for this chat: ID or ARN, and :VERSION (default DRAFT).") var guardrail: String?
    @Flag(help: "Ask the guardrail for a trace.") var guardrailTrace = false
    @Option(help: "Latency profile: standard or optimized.") var latency: String?
    @Option(help: "Service tier: priority, default, flex or reserved.") var serviceTier: String?
    @Option(help: "A reasoning budget in tokens (at least 1024), for models that reason.") var thinking: Int?
    @Option(help: "Prompt caching for this chat: auto, off or 1h (default: the backend's, else auto).")
    var cache: String?
    @Flag(help: "Do not store this turn in a session.") var ephemeral = false
    @Flag(help: "One JSON event per line (delta, blockStart, result, error), for scripts.") var json = false

    func validate() throws {
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if let temperature, !(0...1).contains(temperature) {
            throw ValidationError("--temperature must be between 0 and 1")
        }
    }

    func run() async throws {
        let services = openServices()
        // The connection and credentials get ready while the prompt and the store are read.
        services.prewarm(backend: backend)
        var text = prompt ?? "-"
        if text == "-" {
            text = String(decoding: FileDescriptorIO.readAll(0), as: UTF8.self)
        }
        guard !text.trimmingWhitespaceAndNewlines().isEmpty else {
            throw ValidationError("the prompt is empty")
        }
        var config: JSONObject = [:]
        if let maxTokens { config["maxTokens"] = .int(Int64(maxTokens)) }
        if let temperature { config["temperature"] = .double(temperature) }
        var request = ChatRequest(
            prompt: text, model: model, backend: backend, system: system,
            inferenceConfig: config.isEmpty ? nil : .object(config), ephemeral: ephemeral)
        if session != "new" {
            request.sessionID = try await service { try services.resolveSession(session) }
        }
        let options = BackendRequestOptions(
            guardrail: guardrail, guardrailTrace: guardrailTrace, latency: latency, serviceTier: serviceTier)
        request.passthrough = try await service { try options.fields() }
        request.thinkingBudget = thinking
        if let cache { request.cache = try await service { try BackendRequestOptions.cachePolicy(cache) } }
        let json = self.json
        let chatTask = Task {
            let session = LockedValue<String?>(nil)
            return try await services.chat(request, streaming: true) { event in
                if json {
                    if let line = Self.jsonLine(event, sessionID: session) { FileDescriptorIO.writeAll(1, line) }
                } else if case .text(_, let piece) = event {
                    FileDescriptorIO.writeAll(1, piece)
                } else if case .retrying(let notice) = event {
                    printError(Self.retryLine(notice))
                }
            }
        }
        // Ctrl-C cancels the request (the transfer is aborted and the partial answer kept).
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT)
        interrupt.setEventHandler { chatTask.cancel() }
        interrupt.resume()
        defer { interrupt.cancel() }

        do {
            let result = try await chatTask.value
            if json {
                var event: JSONObject = ["type": "result"]
                for (key, value) in result.json.objectValue ?? JSONObject() { event[key] = value }
                print(JSONValue.object(event).jsonString)
            } else {
                print()
                fflush(nil)  // the answer's line ends before the summary goes to stderr
                let usage = result.usage
                let cached = [
                    (usage["cacheReadInputTokens"]?.intValue ?? 0, "from cache"),
                    (usage["cacheWriteInputTokens"]?.intValue ?? 0, "to cache"),
                ].filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
                let tokens =
                    "\(usage["inputTokens"]?.intValue ?? 0) in"
                    + (cached.isEmpty ? "" : " (\(cached.joined(separator: ", ")))")
                    + ", \(usage["outputTokens"]?.intValue ?? 0) out"
                printError("[\(result.sessionID.map { "session \($0); " } ?? "")\(result.stopReason); \(tokens)]")
                if let guardrail = result.guardrail {
                    printError("\(guardrail.summary)")
                    printError("hint: \(guardrail.hint)")
                }
            }
        } catch let error as ServiceError {
            if json { print(JSONValue.object(["type": "error", "error": error.data]).jsonString) }
            if !json { print() }
            throw report(error)
        } catch is CancellationError {
            print()
            printError("cancelled; what arrived is kept in the session, marked incomplete")
            throw ExitCode(130)
        }
    }
}

extension Chat {
    /// The one line a retry prints on stderr, so a person sees why the answer waits.
    static func retryLine(_ notice: RetryNotice) -> String {
        let seconds = (Double(notice.delayMilliseconds) / 1000).decimalText(maxFractionDigits: 1)
        return "contenox: \(notice.reason); retrying in \(seconds) s "
            + "(attempt \(notice.attempt) of \(notice.maxAttempts))"
    }

    /// One `--json` line for a chat event: `{type: "delta" | "blockStart", sessionId, contentBlockIndex, ...}`,
    /// the notification's params under a type; nil for events that are not shown.
    static func jsonLine(_ event: ChatEvent, sessionID: LockedValue<String?>) -> String? {
        let session = sessionID.withLock { $0 }.map(JSONValue.string) ?? .null
        let object: JSONValue
        switch event {
        case .started(let id):
            sessionID.withLock { $0 = id }
            return nil
        case .blockStart(let index, let start):
            object = [
                "type": "blockStart", "sessionId": session, "contentBlockIndex": .int(Int64(index)), "start": start,
            ]
        case .text(let index, let text):
            object = [
                "type": "delta", "sessionId": session, "contentBlockIndex": .int(Int64(index)),
                "delta": ["text": .string(text)],
            ]
        case .delta(let index, let delta):
            object = ["type": "delta", "sessionId": session, "contentBlockIndex": .int(Int64(index)), "delta": delta]
        case .retrying(let notice):
            printError(retryLine(notice))
            return nil
        }
        return object.jsonString + "\n"
    }
}
