import Foundation
import JSON
import JSONRPC
import Locking

/// Why the `contenox` executable cannot be used.
public struct ExecutableUnavailable: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Where the built `contenox` executable is: `$CONTENOX_EXECUTABLE` (a path, unlike the editor tests'
/// CONTENOX_BIN command), else next to the test bundle (where `swift build --build-tests` puts every
/// product), else `<package>/.build/debug/contenox`.
///
/// `swift test` alone does not rebuild the executable: run `swift build --build-tests` first (`make test`
/// does). (A modification-time check against Sources/ was tried and dropped: SwiftPM skips relinking
/// when a touched file compiles to the same object, so it reported fresh binaries as stale.)
public func contenoxExecutable() throws(ExecutableUnavailable) -> URL {
    try locatedExecutable.get()
}

/// A `contenox ARGS` process, not started, with this process's environment plus `CONTENOX_HOME=home` and
/// `environment`; the caller sets up its standard streams and runs it.
public func contenoxProcess(_ arguments: [String], home: String, environment: [String: String] = [:]) throws
    -> Process
{
    let process = Process()
    process.executableURL = try contenoxExecutable()
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["CONTENOX_HOME"] = home
    for (key, value) in environment { env[key] = value }
    process.environment = env
    return process
}

private let locatedExecutable: Result<URL, ExecutableUnavailable> = locateExecutable()

private func locateExecutable(file: String = #filePath) -> Result<URL, ExecutableUnavailable> {
    let root = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    if let explicit = ProcessInfo.processInfo.environment["CONTENOX_EXECUTABLE"], !explicit.isEmpty {
        return .success(URL(fileURLWithPath: explicit))
    }
    let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    let candidates = [
        runner.deletingLastPathComponent().appendingPathComponent("contenox"),
        Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("contenox"),
        root.appendingPathComponent(".build/debug/contenox"),
    ]
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        return .failure(
            ExecutableUnavailable(
                description: "contenox executable not found (tried \(candidates.map(\.path))); run "
                    + "`swift build --build-tests` (or `make test`) first, or set CONTENOX_EXECUTABLE"))
    }
    return .success(found)
}

/// A fresh directory for `CONTENOX_HOME`, removed by `remove()`.
public struct TemporaryHome: Sendable {
    public let path: String

    public init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("contenox-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    /// A path inside this home that does not exist yet (for testing that contenox creates it).
    public var store: String { path + "/home" }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Bytes appended by a reader thread and read by the test.
final class ByteSink: Sendable {
    private let data = LockedValue(Data())
    func append(_ more: Data) { data.withLock { $0.append(more) } }
    var text: String { String(decoding: data.withLock { $0 }, as: UTF8.self) }
}

/// What a finished CLI run printed and returned.
public struct CLIResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs `contenox ARGS` with `CONTENOX_HOME=home` (plus `environment`) and waits, at most `timeout` seconds
/// (times `TestScale.timeFactor`).
public func runContenox(
    _ arguments: [String], home: String, environment: [String: String] = [:], timeout: Double = 60
) throws -> CLIResult {
    struct TimedOut: Error, CustomStringConvertible { var description: String }
    let process = try contenoxProcess(arguments, home: home, environment: environment)
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Drain both pipes on their own threads so a chatty child cannot block on a full pipe.
    let out = ByteSink()
    let err = ByteSink()
    let readers = [(stdout, out), (stderr, err)].map { pipe, sink in
        let handle = pipe.fileHandleForReading
        let thread = Thread { sink.append(handle.readDataToEndOfFile()) }
        thread.start()
        return thread
    }
    let timeout = TestScale.seconds(timeout)
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning {
        if Date() > deadline {
            kill(process.processIdentifier, SIGKILL)  // not SIGTERM, which the child may inherit ignored
            process.reap()
            throw TimedOut(description: "contenox \(arguments.joined(separator: " ")) ran longer than \(timeout) s")
        }
        usleep(5_000)
    }
    process.reap()  // at once: it has exited; without it the Process and its pipes leak
    // The pipes reach EOF once the child is gone; wait (briefly) for the readers to store what they read.
    let drained = Date().addingTimeInterval(5)
    while readers.contains(where: { !$0.isFinished }) && Date() < drained { usleep(2_000) }
    return CLIResult(
        status: process.terminationStatus, stdout: out.text, stderr: err.text)
}

/// Reads frames from a file descriptor on a thread of its own and queues the decoded messages;
/// every wait has a timeout, so a server that does not answer fails the test instead of hanging it.
public final class MessageCollector: Sendable {
    public struct TimedOut: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    private final class State: Sendable {
        let received = LockedValue<[JSONValue]>([])
        let ended = LockedValue(false)
        let stopping = LockedValue(false)
    }

    private let state = State()
    private let describe: @Sendable () -> String

    /// Starts reading `fd` (framed as `framing`) until end of file. `describe` adds context (a log) to timeouts.
    /// With `owned`, the collector closes `fd` when it stops (see `stopReading`).
    public init(
        fd: Int32, framing: HarnessFraming, owned: Bool = false, describe: @escaping @Sendable () -> String = { "" }
    ) {
        self.describe = describe
        let thread = Thread { [state] in
            var lsp = ContentLengthFramer(maxMessageBytes: 256 << 20)
            var ndjson = NDJSONFramer(maxMessageBytes: 256 << 20)
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                if owned, state.stopping.withLock({ $0 }) { break }
                let chunk = Array(buffer[0..<count])
                let events: [FrameEvent]
                switch framing {
                case .lsp:
                    lsp.feed(chunk)
                    events = lsp.drain()
                case .ndjson:
                    ndjson.feed(chunk)
                    events = ndjson.drain()
                }
                for event in events {
                    let value: JSONValue
                    switch event {
                    case .frame(let body):
                        value = (try? JSONValue.parse(body)) ?? ["harnessError": "unparsable output frame"]
                    case .error(let error):
                        value = ["harnessError": .string("bad output framing: \(error.message)")]
                    }
                    state.received.withLock { $0.append(value) }
                }
            }
            if owned { close(fd) }
            state.ended.withLock { $0 = true }
        }
        thread.start()
    }

    /// Stops reading: the output's read end is closed after the next read returns, as a client that goes
    /// away closes it (the writer's next write then fails). Only for a collector that owns its fd.
    public func stopReading() { state.stopping.withLock { $0 = true } }

    /// Every message received and not yet taken, in order.
    public var messages: [JSONValue] { state.received.withLock { $0 } }

    /// True once the output reached end of file.
    public var outputEnded: Bool { state.ended.withLock { $0 } }

    /// Waits for the first received message satisfying `match`, and removes it from the queue. Every timeout
    /// here is in seconds, times `TestScale.timeFactor`. Once the output has ended (the server died, say, at
    /// a sanitizer report) nothing more can come, so it fails at once instead of waiting out the timeout.
    public func next(timeout: Double = 20, where match: @Sendable (JSONValue) -> Bool) async throws -> JSONValue {
        let timeout = TestScale.seconds(timeout)
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            // Read before searching: the reader queues every message before it marks the end.
            let ended = outputEnded
            let found = state.received.withLock { queue -> JSONValue? in
                guard let index = queue.firstIndex(where: match) else { return nil }
                return queue.remove(at: index)
            }
            if let found { return found }
            if ended {
                throw TimedOut(description: "output ended without a matching message; got \(messages) \(describe())")
            }
            if Date() > deadline {
                throw TimedOut(description: "no matching message within \(timeout) s; got \(messages) \(describe())")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits for the response whose id equals `id` exactly (an integer id is not the string of it).
    public func response(id: JSONValue, timeout: Double = 20) async throws -> JSONValue {
        try await next(timeout: timeout) { message in
            message.objectValue?["method"] == nil && message["id"] == id
        }
    }

    /// Waits for the next message of any kind.
    public func nextMessage(timeout: Double = 20) async throws -> JSONValue {
        try await next(timeout: timeout) { _ in true }
    }

    /// Removes and returns, without waiting, every queued message satisfying `match`: a long stream's
    /// notifications can be consumed as they come instead of piling up (and slowing every `next`).
    public func take(where match: (JSONValue) -> Bool) -> [JSONValue] {
        state.received.withLock { queue in
            let taken = queue.filter(match)
            if !taken.isEmpty { queue.removeAll(where: match) }
            return taken
        }
    }
}

public enum HarnessFraming: String, Sendable { case lsp, ndjson }

/// Builds request and notification frames for either framing and writes them to a file descriptor.
public struct FrameWriter: Sendable {
    public let framing: HarnessFraming
    public let fd: Int32

    public init(fd: Int32, framing: HarnessFraming) {
        self.fd = fd
        self.framing = framing
    }

    /// Writes raw bytes (ignoring a closed pipe: the test then sees the missing answer).
    public func write(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Writes `body` framed as this writer's framing.
    public func send(body: [UInt8]) {
        switch framing {
        case .lsp: write(ContentLengthFramer.encode(body))
        case .ndjson: write(NDJSONFramer.encode(body))
        }
    }

    public func send(_ json: JSONValue) { send(body: json.serialized()) }

    public func send(_ text: String) { send(body: Array(text.utf8)) }

    public func request(_ id: JSONValue, _ method: String, _ params: JSONValue? = nil) {
        var message: JSONObject = ["jsonrpc": "2.0", "id": id, "method": .string(method)]
        if let params { message["params"] = params }
        send(.object(message))
    }

    public func notify(_ method: String, _ params: JSONValue? = nil) {
        var message: JSONObject = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { message["params"] = params }
        send(.object(message))
    }
}

/// `contenox serve` as a subprocess: write frames to its stdin, read decoded messages from its stdout.
public final class ServerHarness: Sendable {
    public let writer: FrameWriter
    public let collector: MessageCollector
    private let process: Process
    private let input: FileHandle
    private let stderrText = ByteSink()

    public init(
        home: String, framing: HarnessFraming = .lsp, arguments: [String] = [], environment: [String: String] = [:]
    ) throws {
        let process = try contenoxProcess(
            ["serve", "--framing", framing.rawValue] + arguments, home: home, environment: environment)
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        self.process = process
        input = stdin.fileHandleForWriting
        writer = FrameWriter(fd: stdin.fileHandleForWriting.fileDescriptor, framing: framing)
        let stderrText = self.stderrText
        // The collector owns a copy of the read end, so that it alone decides when the output is closed.
        let output = fcntl(stdout.fileHandleForReading.fileDescriptor, F_DUPFD_CLOEXEC, 0)
        try stdout.fileHandleForReading.close()
        collector = MessageCollector(fd: output, framing: framing, owned: true) {
            "server log: " + stderrText.text
        }
        let errorHandle = stderr.fileHandleForReading
        let errorReader = Thread {
            while true {
                let data = errorHandle.availableData
                if data.isEmpty { break }
                stderrText.append(data)
            }
        }
        errorReader.start()
    }

    deinit {
        // SIGKILL rather than SIGTERM, which the server may inherit ignored: waiting must not hang.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.reap()
    }

    /// The server's process id (for reading /proc).
    public var processIdentifier: Int32 { process.processIdentifier }

    /// What the server wrote to stderr so far (its log).
    public var stderr: String { stderrText.text }

    /// Sends `initialize`, waits for its answer, then sends `initialized`.
    @discardableResult
    public func initialize(id: JSONValue = 0) async throws -> JSONValue {
        writer.request(id, "initialize", ["clientInfo": ["name": "harness"]])
        let answer = try await collector.response(id: id)
        writer.notify("initialized")
        return answer
    }

    /// Closes the server's stdin (end of input).
    public func closeInput() { try? input.close() }

    /// Closes the read end of the server's stdout, as a client that has gone away does.
    public func closeOutput() { collector.stopReading() }

    /// Kills the server with SIGKILL, as a crash or an OOM killer would, and waits for it.
    public func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.reap()
    }

    /// Waits (at most `timeout` seconds, times `TestScale.timeFactor`) for the server to exit and returns its status.
    public func waitForExit(timeout: Double = 20) async throws -> Int32 {
        let timeout = TestScale.seconds(timeout)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                throw MessageCollector.TimedOut(description: "server still running after \(timeout) s; log: \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.reap()  // at once: it has exited
        return process.terminationStatus
    }
}
