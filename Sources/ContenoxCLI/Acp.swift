import ArgumentParser
import RPCServer

/// `contenox acp`: an Agent Client Protocol agent on stdio, for Zed, JetBrains, CodeCompanion, avante and
/// agent-shell (see docs/acp.md).
struct Acp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acp",
        abstract: "Speak the Agent Client Protocol (v1) on stdin/stdout for an editor's agent panel (see docs/acp.md).")

    @OptionGroup var server: ServerOptions

    @Option(help: "Model calls one prompt may make (each round of tool calls is one more) before it stops.")
    var maxModelCalls = 16

    func validate() throws {
        guard maxModelCalls >= 1 else { throw ValidationError("--max-model-calls must be at least 1") }
    }

    func run() async throws {
        let logger = server.logger
        let services = server.services()
        var configuration = JSONRPCServer.Configuration()
        configuration.framing = .ndjson
        configuration.dispatch.lifecycle = .acp
        configuration.dispatch.version = contenoxVersion
        // Clients send SIGTERM about 2 s after closing stdin: what runs gets less than that to save.
        configuration.dispatch.drainTimeout = 1
        let agent = ACPAgent(services: services, version: contenoxVersion, maxModelCalls: maxModelCalls)
        let server = JSONRPCServer(methods: agent.methodTable(), configuration: configuration, logger: logger)
        logger.info("ACP agent on stdio, store \(services.storePath)")
        throw ExitCode(await server.run())
    }
}
