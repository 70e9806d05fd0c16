import ArgumentParser
import JSON
import RPCServer

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Get and set default-model and default-provider.",
        subcommands: [Set.self, Get.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Set a key (an empty value clears it).")
        @Argument(help: "default-model or default-provider.") var key: String
        @Argument var value: String

        func run() async throws {
            let services = openServices()
            try await service { try services.setConfig(key, value) }
            print(value.isEmpty ? "cleared \(key)" : "\(key) = \(value)")
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "Print one key, or all of them.")
        @Argument var key: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let services = openServices()
            if let key {
                let value = try await service { try services.config(key) }
                if json {
                    print(
                        JSONValue.object(["key": .string(key), "value": value.map(JSONValue.string) ?? .null])
                            .jsonString)
                } else if let value {
                    print(value)
                } else {
                    printError("\(key) is not set")
                    throw Failure()
                }
                return
            }
            let entries = try await service { try services.config() }
            if json {
                print(JSONValue.object(JSONObject(entries.map { ($0.key, JSONValue.string($0.value)) })).jsonString)
            } else {
                for (key, _) in Services.configKeys {
                    print("\(key) = \(entries.first { $0.key == key }?.value ?? "(not set)")")
                }
            }
        }
    }
}

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
