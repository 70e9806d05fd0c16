import ArgumentParser
import Basics
import FoundationEssentials
import JSON
import RPCServer

struct BackendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backend", abstract: "Add, list, show, check and remove Bedrock backends.",
        subcommands: [Add.self, List.self, Show.self, Check.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a backend.")

        @Argument(help: "A name: letters, digits, '.', '_' or '-'.") var name: String
        @Option(help: "The backend type (bedrock).") var type: String
        @Option(
            help:
                "The endpoint URL (https://bedrock-runtime.<region>.amazonaws.com, VPC, FIPS, or http://127.0.0.1:PORT) or a bare region."
        )
        var url: String
        @Option(
            help:
                "The NAME of an environment variable holding {\"AccessKeyID\",\"SecretAccessKey\",\"SessionToken\"}; only the name is stored."
        )
        var apiKeyEnv: String?
        @Option(help: "The region, when the URL does not say it.") var region: String?
        @Flag(help: "Replace a backend of the same name.") var replace = false
        @Option(
            help:
                "A Bedrock guardrail every chat on this backend goes through: ID or ARN, and :VERSION (default DRAFT).")
        var guardrail: String?
        @Flag(help: "Ask the guardrail for a trace, so that a blocked answer says which policy blocked it.")
        var guardrailTrace = false
        @Option(help: "Latency profile: standard or optimized (where the model offers it).") var latency: String?
        @Option(help: "Service tier: priority, default, flex or reserved.") var serviceTier: String?
        @Option(help: "KEY=VALUE request metadata for cost attribution in invocation logs (repeatable).")
        var metadata: [String] = []
        @Option(help: "Prompt caching: auto (cache points where they pay), off, or 1h (one-hour cache points).")
        var cache: String?

        func validate() throws {
            for pair in metadata where !pair.contains("=") {
                throw ValidationError("--metadata takes KEY=VALUE, got \(pair.quoted())")
            }
        }

        func run() async throws {
            let services = openServices()
            let options = BackendRequestOptions(
                guardrail: guardrail, guardrailTrace: guardrailTrace, latency: latency, serviceTier: serviceTier,
                requestMetadata: metadata.map { pair in
                    let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
                }, cache: cache)
            let backend = try await service {
                try services.addBackend(
                    name: name, type: type, url: url, apiKeyEnv: apiKeyEnv, region: region, replace: replace,
                    options: options)
            }
            let regionText = regionDescription(backend, services)
            print("added backend \(backend.name) (\(backend.type), region \(regionText))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List backends and the region each resolves to.")
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let services = openServices()
            let backends = try await service { try services.backends() }
            if json {
                print(JSONValue.array(backends.map(\.json)).jsonString)
                return
            }
            guard !backends.isEmpty else {
                print("no backends; add one with: `contenox backend add bedrock --type bedrock --url us-east-1`")
                return
            }
            let defaultProvider = (try? services.config("default-provider")) ?? nil
            let rows = backends.map { backend -> [String] in
                let region = regionDescription(backend, services)
                let name = backend.name + (backend.name == defaultProvider ? " *" : "")
                return [name, backend.type, region, backend.url, backend.apiKeyEnv ?? "-"]
            }
            printTable(["NAME", "TYPE", "REGION", "URL", "API-KEY-ENV"], rows)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one backend.")
        @Argument var name: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let services = openServices()
            let backend = try await service { try services.backend(named: name) }
            if json {
                print(backend.json.jsonString)
                return
            }
            print("name:        \(backend.name)")
            print("type:        \(backend.type)")
            print("url:         \(backend.url)")
            print(
                "region:      \(regionDescription(backend, services))"
            )
            print("api-key-env: \(backend.apiKeyEnv ?? "-")")
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check", abstract: "Resolve credentials and region, make one signed call, and say what to fix."
        )
        @Argument(help: "The backend (default: default-provider).") var name: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let services = openServices()
            let (backend, check) = try await service { try await services.checkBackend(named: name) }
            if json {
                var object = check.json.objectValue ?? [:]
                object["backend"] = backend.json
                print(JSONValue.object(object).jsonString)
            } else {
                print("backend:     \(backend.name) (\(backend.url))")
                print("region:      \(check.region ?? "(none)")")
                print("credentials: \(check.credentialSource ?? "(none found)")")
                if let expiration = check.credentialExpiration {
                    let minutes = Int(expiration.timeIntervalSinceNow / 60)
                    print("expires:     \(expiration.iso8601WithMilliseconds) (in \(minutes) min)")
                }
                print("status:      \(check.ok ? "ok" : "problems found")")
                for problem in check.problems {
                    print("- \(problem.type): \(problem.message)")
                    if !problem.hint.isEmpty { print("  hint: \(problem.hint)") }
                }
            }
            if !check.ok { throw Failure() }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a backend.")
        @Argument var name: String

        func run() async throws {
            let services = openServices()
            try await service { try services.removeBackend(named: name) }
            print("removed backend \(name)")
        }
    }
}

/// The backend's region for people: its own, else what the environment gives now, else when it is resolved.
func regionDescription(_ backend: BackendRecord, _ services: Services) -> String {
    if let region = backend.region { return region }
    if let region = services.effectiveRegion(backend) { return "\(region) (from the environment)" }
    return "(AWS_REGION at use)"
}

/// Prints rows under a header, each column as wide as its widest cell.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [header] + rows {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell + String(repeating: " ", count: max(0, widths[index] - cell.count))
        }
        print(cells.joined(separator: "  "))
    }
}
