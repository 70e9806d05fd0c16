import ArgumentParser
import Bedrock
import FoundationEssentials
import RPCServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve JSON-RPC 2.0 on stdin/stdout for an editor (see docs/protocol.md).")

    @Option(help: "Message framing: lsp (Content-Length headers) or ndjson (one JSON text per line).")
    var framing: String = "lsp"

    @Option(help: "Largest message accepted, in bytes.")
    var maxMessageBytes: Int = 64 << 20

    @Option(help: "error, warn, info or debug (default: $CONTENOX_LOG, else warn). Logs go to stderr.")
    var logLevel: String?

    @Option(help: "Seconds Bedrock may send nothing (before or during an answer) before a chat fails with Timeout.")
    var idleTimeout: Double = BedrockClient.Options().idleTimeout

    func validate() throws {
        guard Framing(rawValue: framing) != nil else { throw ValidationError("--framing must be lsp or ndjson") }
        guard maxMessageBytes >= 1024 else { throw ValidationError("--max-message-bytes must be at least 1024") }
        guard idleTimeout > 0, idleTimeout.isFinite else { throw ValidationError("--idle-timeout must be positive") }
        if let level = logLevel ?? ProcessInfo.processInfo.environment["CONTENOX_LOG"], Logger.Level(name: level) == nil
        {
            throw ValidationError("log level must be one of error, warn, info, debug")
        }
    }

    func run() async throws {
        let levelName = logLevel ?? ProcessInfo.processInfo.environment["CONTENOX_LOG"] ?? "warn"
        let logger = Logger(level: Logger.Level(name: levelName) ?? .warn)
        var clientOptions = BedrockClient.Options()
        clientOptions.idleTimeout = idleTimeout
        let services = openServices(clientOptions: clientOptions)
        var configuration = JSONRPCServer.Configuration()
        configuration.framing = Framing(rawValue: framing)!
        configuration.maxMessageBytes = maxMessageBytes
        configuration.dispatch.version = contenoxVersion
        configuration.dispatch.serverNotifications = serverNotifications
        // CONTENOX_PREWARM=0: open nothing before the first request (and the benchmark's baseline).
        if ProcessInfo.processInfo.environment["CONTENOX_PREWARM"] != "0" {
            configuration.dispatch.onInitialize = { services.prewarm() }
        }
        let server = JSONRPCServer(methods: services.methodTable(), configuration: configuration, logger: logger)
        logger.info("serving on stdio (\(framing) framing), store \(services.storePath)")
        let code = await server.run()
        throw ExitCode(code)
    }
}
