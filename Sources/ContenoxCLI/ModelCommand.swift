import ArgumentParser
import JSON
import RPCServer

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "List models.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List Converse-capable models; * marks the default, P those that need an inference profile.")
        @Option(help: "The backend (default: default-provider).") var backend: String?
        @Flag(help: "Ask the backend's control plane instead of the built-in catalog.") var live = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let services = openServices()
            let models = try await service { try await services.models(backend: backend, live: live) }
            if json {
                print(JSONValue.array(models.map(\.json)).jsonString)
                return
            }
            let rows = models.map { entry -> [String] in
                let flags = (entry.isDefault ? "*" : " ") + (entry.model.requiresInferenceProfile ? "P" : " ")
                return [flags, entry.model.id, entry.model.provider, entry.model.name]
            }
            printTable(["", "ID", "PROVIDER", "NAME"], rows)
        }
    }
}
