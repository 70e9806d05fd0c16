import ArgumentParser
import Bedrock
import FoundationEssentials
import RPCServer

/// The options of the commands that serve a protocol on stdio (`serve`, `acp`).
struct ServerOptions: ParsableArguments {
    @Option(help: "error, warn, info or debug (default: $CONTENOX_LOG, else warn). Logs go to stderr.")
    var logLevel: String?

    @Option(help: "Seconds Bedrock may send nothing (before or during an answer) before a chat fails with Timeout.")
    var idleTimeout: Double = BedrockClient.Options().idleTimeout

    func validate() throws {
        guard idleTimeout > 0, idleTimeout.isFinite else { throw ValidationError("--idle-timeout must be positive") }
        if let level = logLevel ?? ProcessInfo.processInfo.environment["CONTENOX_LOG"], Logger.Level(name: level) == nil
        {
            throw ValidationError("log level must be one of error, warn, info, debug")
        }
    }

    var logger: Logger {
        let levelName = logLevel ?? ProcessInfo.processInfo.environment["CONTENOX_LOG"] ?? "warn"
        return Logger(level: Logger.Level(name: levelName) ?? .warn)
    }

    func services() -> Services {
        var clientOptions = BedrockClient.Options()
        clientOptions.idleTimeout = idleTimeout
        return openServices(clientOptions: clientOptions)
    }
}
