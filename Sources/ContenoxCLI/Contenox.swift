import ArgumentParser
import Basics
import Bedrock
import FoundationEssentials
import Glibc
import RPCServer

/// The version reported by `contenox version` and `initialize`.
let contenoxVersion = "0.1.0"

public struct Contenox: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "contenox",
        abstract: "Chat with models on Amazon Bedrock from editors, scripts and the shell.",
        discussion: "State lives in $CONTENOX_HOME/contenox.db (default ~/.config/contenox).",
        subcommands: [
            Serve.self, Acp.self, BackendCommand.self, ConfigCommand.self, ModelCommand.self, Chat.self,
            Tokens.self, Login.self,
            SessionCommand.self,
            Version.self,
        ])
}

/// A failure already explained to the user; exits 1.
public struct Failure: Error {}

/// Prints `error: ...` and the hint on stderr; every command reports failures through it.
func report(_ error: ServiceError) -> Failure {
    printError("error: \(error.message)")
    if !error.hint.isEmpty { printError("hint: \(error.hint)") }
    return Failure()
}

public func printError(_ line: String) {
    FileDescriptorIO.writeAll(2, line + "\n")
}

func openServices(clientOptions: BedrockClient.Options = .init()) -> Services {
    Services(environment: ProcessInfo.processInfo.environment, clientOptions: clientOptions)
}

/// Runs a service call, reporting its failure the one way.
func service<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ServiceError {
        throw report(error)
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")
    func run() { print("contenox \(contenoxVersion)") }
}
