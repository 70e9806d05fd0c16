import ArgumentParser
import RPCServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve JSON-RPC 2.0 on stdin/stdout for an editor (see docs/protocol.md).")

    @Option(help: "Message framing: lsp (Content-Length headers) or ndjson (one JSON text per line).")
    var framing: String = "lsp"

    @Option(help: "Largest message accepted, in bytes.")
    var maxMessageBytes: Int = 64 << 20

    @OptionGroup var server: ServerOptions

    func validate() throws {
        guard Framing(rawValue: framing) != nil else { throw ValidationError("--framing must be lsp or ndjson") }
        guard maxMessageBytes >= 1024 else { throw ValidationError("--max-message-bytes must be at least 1024") }
    }

    func run() async throws {
        let logger = server.logger
        let services = server.services()
        var configuration = JSONRPCServer.Configuration()
        configuration.framing = Framing(rawValue: framing)!
        configuration.maxMessageBytes = maxMessageBytes
        configuration.dispatch.version = contenoxVersion
        configuration.dispatch.serverNotifications = serverNotifications
        configuration.dispatch.onInitialize = { services.prewarm() }
        let server = JSONRPCServer(methods: services.methodTable(), configuration: configuration, logger: logger)
        logger.info("serving on stdio (\(framing) framing), store \(services.storePath)")
        let code = await server.run()
        throw ExitCode(code)
    }
}
