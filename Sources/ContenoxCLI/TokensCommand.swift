import ArgumentParser
import Basics
import JSON
import RPCServer

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Count the input tokens a prompt would cost (free; nothing is sent to the model).",
        discussion: "With --session, the session's history is counted too, as a chat would send it.")

    @Argument(help: "The prompt; '-' or nothing reads it from stdin.") var prompt: String?
    @Option(help: "A session id or 'last': count its history too.") var session: String?
    @Option(help: "Model or inference-profile id (default: the session's, else default-model).") var model: String?
    @Option(help: "Backend name (default: the session's, else default-provider).") var backend: String?
    @Option(help: "A system prompt.") var system: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let services = openServices()
        var text = prompt ?? "-"
        if text == "-" { text = String(decoding: FileDescriptorIO.readAll(0), as: UTF8.self) }
        guard !text.trimmingWhitespaceAndNewlines().isEmpty else { throw ValidationError("the prompt is empty") }
        var request = ChatRequest(prompt: text, model: model, backend: backend, system: system)
        if let session { request.sessionID = try await service { try services.resolveSession(session) } }
        let count = try await service { try await services.countTokens(request) }
        if json {
            print(count.json.jsonString)
            return
        }
        var line = "\(count.inputTokens) input tokens (\(count.model) on \(count.backend)"
        if let window = count.contextWindow {
            let share = (Double(count.inputTokens) * 100 / Double(window)).decimalText(maxFractionDigits: 1)
            line += "; \(share)% of its \(window)-token context window"
        }
        print(line + ")")
    }
}
