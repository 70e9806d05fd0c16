import ArgumentParser
import Basics
import Dispatch
import Glibc
import JSON
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
        let json = self.json
        let chatTask = Task {
            try await services.chat(request, streaming: true) { method, params in
                if json {
                    var event: JSONObject = ["type": .string(method == "chat/delta" ? "delta" : "blockStart")]
                    for (key, value) in params { event[key] = value }
                    FileDescriptorIO.writeAll(1, JSONValue.object(event).jsonString + "\n")
                } else if method == "chat/delta", let piece = params["delta"]?["text"]?.stringValue {
                    FileDescriptorIO.writeAll(1, piece)
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
                for (key, value) in result.json.objectValue ?? [:] { event[key] = value }
                print(JSONValue.object(event).jsonString)
            } else {
                print()
                if let id = result.sessionID { printError("[session \(id); \(result.stopReason)]") }
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

struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session", abstract: "List, show and delete chat sessions.",
        subcommands: [List.self, Show.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List sessions, most recent first.")
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let services = openServices()
            let sessions = try await service { try services.sessions() }
            if json {
                print(JSONValue.array(sessions.map(\.summaryJSON)).jsonString)
                return
            }
            printTable(
                ["ID", "UPDATED", "MESSAGES", "MODEL", "TITLE"],
                sessions.map {
                    [$0.id, String($0.updatedAt.prefix(19)), String($0.messageCount), $0.model ?? "-", $0.title]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a session's messages.")
        @Argument(help: "A session id or 'last'.") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let services = openServices()
            let resolved = try await service { try services.resolveSession(id) }
            if json {
                print(try await service { try services.sessionJSON(id: resolved) }.jsonString)
                return
            }
            let (session, messages) = try await service { try services.session(id: resolved) }
            print("# \(session.title)  (\(session.id), \(session.model ?? "-"), \(session.totalTokens) tokens)")
            for message in messages {
                let marker = message.status == "complete" ? "" : " [\(message.status)]"
                print("\n\(message.role)\(marker):")
                for block in message.content.arrayValue ?? [] {
                    if let text = block["text"]?.stringValue {
                        print(text)
                    } else if let tool = block["toolUse"] {
                        print("[tool use \(tool["name"]?.stringValue ?? "?"): \(tool["input"]?.jsonString ?? "")]")
                    } else {
                        print("[\(block.objectValue?.keys.first ?? "block")]")
                    }
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a session.")
        @Argument var id: String

        func run() async throws {
            let services = openServices()
            let resolved = try await service { try services.resolveSession(id) }
            try await service { try services.deleteSession(id: resolved) }
            print("deleted session \(resolved)")
        }
    }
}
