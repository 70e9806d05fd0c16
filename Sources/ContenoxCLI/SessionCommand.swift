import ArgumentParser
import JSON
import RPCServer

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
                print(try await service { try services.sessionDetail(id: resolved) }.json.jsonString)
                return
            }
            let (session, messages) = try await service { try services.session(id: resolved) }
            let cache =
                session.cacheReadTokens + session.cacheWriteTokens > 0
                ? "; cache: \(session.cacheReadTokens) read, \(session.cacheWriteTokens) written" : ""
            print("# \(session.title)  (\(session.id), \(session.model ?? "-"), \(session.totalTokens) tokens\(cache))")
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
