import Glibc
import JSONRPC
import Locking

/// `contenox serve`: a dispatcher over a pair of file descriptors (stdin and stdout).
public final class JSONRPCServer: Sendable {
    public struct Configuration: Sendable {
        public var framing: Framing = .lsp
        public var maxMessageBytes = 64 << 20
        public var dispatch = Dispatcher.Configuration()

        public init() {}
    }

    private let dispatcher: Dispatcher
    private let connection: FileDescriptorConnection
    private let configuration: Configuration
    private let logger: Logger

    public init(methods: MethodTable, configuration: Configuration, logger: Logger, input: Int32 = 0, output: Int32 = 1)
    {
        self.configuration = configuration
        self.logger = logger
        // The writer learns of a closed output before the dispatcher exists to be told; it holds the dispatcher
        // weakly, since the dispatcher holds the connection and the connection the writer.
        let told = LockedValue(WeakDispatcher())
        connection = FileDescriptorConnection(input: input, output: output, framing: configuration.framing) {
            told.withLock { $0.dispatcher }?.outputClosed()
        }
        dispatcher = Dispatcher(
            methods: methods, configuration: configuration.dispatch, logger: logger, output: connection)
        told.withLock { $0.dispatcher = dispatcher }
    }

    /// Serves until `exit`, end of input (once every request received is answered), or a closed output;
    /// returns the process exit code (0 after `shutdown`, 1 otherwise).
    public func run() async -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        connection.startReading(into: dispatcher, maxMessageBytes: configuration.maxMessageBytes, logger: logger)
        return await dispatcher.wait()
    }
}

/// A weak reference to a dispatcher, kept under a lock.
private struct WeakDispatcher {
    weak var dispatcher: Dispatcher?
}
