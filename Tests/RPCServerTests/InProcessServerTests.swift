import Foundation
import JSON
import JSONRPC
import Locking
import RPCServer
import TestSupport
import Testing

/// A JSONRPCServer on a pair of pipes inside the test process, with the real method table plus
/// test-only handlers registered through the public registration point.
final class PipeServer: Sendable {
    /// A count shared between a handler and the test.
    final class Counter: Sendable {
        private let value = LockedValue(0)
        func increment() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    let writer: FrameWriter
    let collector: MessageCollector
    let home: TemporaryHome
    let run: Task<Int32, Never>
    let slowFinished = Counter()
    private let inputWrite: Int32
    private let outputWrite: Int32

    init(framing: HarnessFraming = .lsp) throws {
        home = try TemporaryHome()
        let services = Services(store: try Store(path: home.path + "/contenox.db"), environment: [:])
        var table = services.methodTable()
        let slowFinished = self.slowFinished
        // Sleeps until cancelled (or 30 s, times TestScale.timeFactor like the bounds that rely on it), then
        // answers; records that its body ran to the end.
        table.register("test/slow") { params, _ throws(ResponseError) in
            let seconds = try params.optionalInt("seconds") ?? 30
            try? await Task.sleep(for: .seconds(TestScale.seconds(Double(seconds))))
            slowFinished.increment()
            return Task.isCancelled ? "cancelled" : "slept"
        }
        table.register("test/stream") { _, context throws(ResponseError) in
            for n in 0..<5 { await context.notify("test/tick", ["n": .int(Int64(n))]) }
            return "done"
        }
        var input: [Int32] = [0, 0]
        var output: [Int32] = [0, 0]
        guard pipe(&input) == 0, pipe(&output) == 0 else { throw POSIXError(.EMFILE) }
        // Close-on-exec, so a contenox spawned by a concurrent test does not inherit (and hold open) these
        // pipes. (pipe2 is not visible to Swift without _GNU_SOURCE; the window before fcntl is tiny.)
        for fd in input + output { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        inputWrite = input[1]
        outputWrite = output[1]
        var configuration = JSONRPCServer.Configuration()
        configuration.framing = framing == .lsp ? .lsp : .ndjson
        configuration.dispatch.version = "9.9.9"
        configuration.dispatch.serverNotifications = serverNotifications
        configuration.dispatch.drainTimeout = 0.5
        let server = JSONRPCServer(
            methods: table, configuration: configuration, logger: Logger(level: .error), input: input[0],
            output: output[1])
        writer = FrameWriter(fd: input[1], framing: framing)
        collector = MessageCollector(fd: output[0], framing: framing)
        let outputWrite = output[1]
        run = Task {
            let code = await server.run()
            close(outputWrite)  // lets the collector see end of output
            return code
        }
    }

    func closeInput() { close(inputWrite) }

    func exitCode(timeout: Double = 10) async throws -> Int32 {
        let timeout = TestScale.seconds(timeout)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if collector.outputEnded { return await run.value }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw MessageCollector.TimedOut(description: "server did not stop within \(timeout) s")
    }

    func initialize() async throws -> JSONValue {
        writer.request(0, "initialize", nil)
        return try await collector.response(id: 0)
    }

    deinit { home.remove() }
}

@Suite struct InProcessServerTests {
    @Test func requestBeforeInitializeIsRefused() async throws {
        let server = try PipeServer()
        server.writer.request(1, "backend/list")
        let answer = try await server.collector.response(id: 1)
        #expect(answer["error"]?["code"] == -32002)
        #expect(answer["result"] == nil)
        server.closeInput()
        #expect(try await server.exitCode() == 1)
    }

    @Test func initializeListsEveryMethodAndNotification() async throws {
        let server = try PipeServer()
        let answer = try await server.initialize()
        let result = try #require(answer["result"])
        #expect(result["serverInfo"] == ["name": "contenox", "version": "9.9.9"])
        #expect(result["protocolVersion"] == 1)
        let methods = Set(result["capabilities"]?["methods"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        for method in [
            "initialize", "shutdown", "backend/add", "backend/list", "backend/show", "backend/remove", "config/get",
            "config/set", "test/slow",
        ] {
            #expect(methods.contains(method), "\(method) missing")
        }
        let notifications = result["capabilities"]?["notifications"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(notifications.contains("$/cancelRequest") && notifications.contains("exit"))
        #expect(notifications.contains("chat/delta"))
        server.writer.request(2, "initialize")
        #expect(try await server.collector.response(id: 2)["error"]?["code"] == -32600)
        server.writer.notify("exit")
        #expect(try await server.exitCode() == 1)
    }

    @Test func shutdownThenExitIsZero() async throws {
        let server = try PipeServer()
        _ = try await server.initialize()
        server.writer.notify("initialized")
        server.writer.request(1, "shutdown")
        let answer = try await server.collector.response(id: 1)
        #expect(answer.objectValue?["result"] == .null)
        #expect(answer["error"] == nil)
        server.writer.request(2, "backend/list")
        #expect(try await server.collector.response(id: 2)["error"]?["code"] == -32600)
        server.writer.notify("exit")
        #expect(try await server.exitCode() == 0)
    }

    @Test func endOfInputAfterShutdownIsZero() async throws {
        let server = try PipeServer()
        _ = try await server.initialize()
        server.writer.request(1, "shutdown")
        _ = try await server.collector.response(id: 1)
        server.closeInput()
        #expect(try await server.exitCode() == 0)
    }

    @Test func endOfInputFinishesAndAnswersInFlightWork() async throws {
        let server = try PipeServer()
        _ = try await server.initialize()
        server.writer.request(1, "test/slow", ["seconds": 1])
        server.closeInput()
        // A script that pipes its requests and closes stdin gets every answer, then the server exits.
        #expect(try await server.collector.response(id: 1)["result"] == "slept")
        #expect(try await server.exitCode() == 1)
        #expect(server.slowFinished.count == 1)
    }

    @Test func exitCancelsInFlightWork() async throws {
        let server = try PipeServer()
        _ = try await server.initialize()
        server.writer.request(1, "test/slow", ["seconds": 30])
        try await Task.sleep(for: .milliseconds(100))
        let started = Date()
        server.writer.notify("exit")
        #expect(try await server.exitCode() == 1)
        #expect(Date().timeIntervalSince(started) < TestScale.seconds(5))
        #expect(server.slowFinished.count == 1)  // the handler saw the cancellation and ended
    }

    @Test func cancelAnswersAtOnceAndDropsTheLateResult() async throws {
        let server = try PipeServer()
        _ = try await server.initialize()
        server.writer.request("slow-1", "test/slow", ["seconds": 30])
        try await Task.sleep(for: .milliseconds(100))
        server.writer.notify("$/cancelRequest", ["id": "slow-1"])
        let answer = try await server.collector.response(id: "slow-1", timeout: 5)
        #expect(answer["error"]?["code"] == -32800)
        // The handler ends (it was cancelled) but its result is not sent a second time.
        let deadline = Date().addingTimeInterval(TestScale.seconds(5))
        while server.slowFinished.count == 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        server.writer.request(2, "backend/list")
        _ = try await server.collector.response(id: 2)
        #expect(!server.collector.messages.contains { $0["id"] == "slow-1" })
        server.closeInput()
        _ = try await server.exitCode()
    }

    @Test func slowRequestDoesNotDelayALaterOne() async throws {
        let server = try PipeServer()
        _ = try await server.initialize()
        server.writer.request(1, "test/slow", ["seconds": 30])
        let sent = Date()
        server.writer.request(2, "backend/list")
        let answer = try await server.collector.response(id: 2, timeout: 5)
        #expect(answer["result"] == ["backends": []])
        #expect(Date().timeIntervalSince(sent) < TestScale.seconds(10))  // the slow one sleeps 30 s
        #expect(!server.collector.messages.contains { $0["id"] == 1 })
        server.writer.notify("exit")
        _ = try await server.exitCode()
    }

    @Test func notificationsComeInOrderBeforeTheResponse() async throws {
        let server = try PipeServer()
        _ = try await server.initialize()
        server.writer.request(7, "test/stream")
        var seen: [JSONValue] = []
        for _ in 0..<6 { seen.append(try await server.collector.nextMessage()) }
        #expect(seen.prefix(5).map { $0["params"]?["n"] } == [0, 1, 2, 3, 4])
        #expect(seen.prefix(5).allSatisfy { $0["method"] == "test/tick" && $0["id"] == nil })
        #expect(seen[5]["id"] == 7 && seen[5]["result"] == "done")
        server.closeInput()
        _ = try await server.exitCode()
    }

    @Test func batchesAreAnsweredWithAnArray() async throws {
        let server = try PipeServer()
        _ = try await server.initialize()
        server.writer.send(
            """
            [{"jsonrpc":"2.0","id":1,"method":"backend/list"},
             {"jsonrpc":"2.0","method":"initialized"},
             {"jsonrpc":"2.0","id":"two","method":"no/such"},
             {"jsonrpc":"2.0","id":3,"method":"config/get","params":{}},
             {"foo":1}]
            """)
        let batch = try await server.collector.nextMessage()
        let items = try #require(batch.arrayValue)
        #expect(items.count == 4)
        let byID = Dictionary(items.map { ($0["id"] ?? .null, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byID[1]?["result"] == ["backends": []])
        #expect(byID["two"]?["error"]?["code"] == -32601)
        #expect(byID[3]?["result"] == ["config": [:]])
        #expect(byID[.null]?["error"]?["code"] == -32600)
        // A batch of notifications only gets no answer at all: the next message is the ping's.
        server.writer.send(#"[{"jsonrpc":"2.0","method":"initialized"},{"jsonrpc":"2.0","method":"nothing"}]"#)
        server.writer.request(4, "backend/list")
        #expect(try await server.collector.nextMessage()["id"] == 4)
        // An empty batch is an invalid request.
        server.writer.send("[]")
        let empty = try await server.collector.nextMessage()
        #expect(empty["error"]?["code"] == -32600 && empty["id"] == .null)
        server.closeInput()
        _ = try await server.exitCode()
    }

    @Test func cancellingARequestInsideABatchStopsItsWork() async throws {
        let server = try PipeServer()
        _ = try await server.initialize()
        server.writer.send(
            #"[{"jsonrpc":"2.0","id":"b1","method":"test/slow"},{"jsonrpc":"2.0","id":"b2","method":"backend/list"}]"#)
        try await Task.sleep(for: .milliseconds(100))
        server.writer.notify("$/cancelRequest", ["id": "b1"])
        let cancelled = try await server.collector.response(id: "b1", timeout: 5)
        #expect(cancelled["error"]?["code"] == -32800)
        let batch = try await server.collector.next(timeout: 5) { $0.arrayValue != nil }
        #expect(batch.arrayValue?.map { $0["id"] } == ["b2"])
        #expect(server.slowFinished.count == 1)  // the handler saw the cancellation, not a 30 s sleep
        server.closeInput()
        _ = try await server.exitCode()
    }

    @Test func backendMethodsRoundTrip() async throws {
        let server = try PipeServer()
        _ = try await server.initialize()
        server.writer.request(
            1, "backend/add",
            ["name": "bedrock", "type": "bedrock", "url": "https://bedrock-runtime.us-east-1.amazonaws.com"])
        let added = try await server.collector.response(id: 1)
        #expect(added["result"]?["backend"]?["region"] == "us-east-1")
        #expect(added["result"]?["backend"]?["apiKeyEnv"] == nil)
        server.writer.request(2, "backend/add", ["name": "bedrock", "type": "bedrock", "url": "us-west-2"])
        let duplicate = try await server.collector.response(id: 2)
        #expect((duplicate["error"]?["code"]?.intValue ?? 0) <= -32000)
        #expect(duplicate["error"]?["data"]?["hint"]?.stringValue?.contains("replace") == true)
        server.writer.request(
            3, "backend/add",
            ["name": "bedrock", "type": "bedrock", "url": "us-west-2", "apiKeyEnv": "CREDS", "replace": true])
        #expect(try await server.collector.response(id: 3)["result"]?["backend"]?["apiKeyEnv"] == "CREDS")
        server.writer.request(4, "backend/show", ["name": "bedrock"])
        #expect(try await server.collector.response(id: 4)["result"]?["backend"]?["region"] == "us-west-2")
        server.writer.request(5, "config/set", ["key": "default-provider", "value": "bedrock"])
        #expect(
            try await server.collector.response(id: 5)["result"] == ["key": "default-provider", "value": "bedrock"])
        server.writer.request(6, "config/get", ["key": "default-provider"])
        #expect(
            try await server.collector.response(id: 6)["result"] == ["key": "default-provider", "value": "bedrock"])
        server.writer.request(7, "config/set", ["key": "colour", "value": "x"])
        let unknown = try await server.collector.response(id: 7)
        #expect(unknown["error"]?["code"] == -32602)
        #expect(unknown["error"]?["message"]?.stringValue?.contains("default-model") == true)
        server.writer.request(8, "backend/remove", ["name": "bedrock"])
        #expect(try await server.collector.response(id: 8)["result"] == ["removed": "bedrock"])
        server.writer.request(9, "backend/show", ["name": "bedrock"])
        let missing = try await server.collector.response(id: 9)
        #expect(missing["error"]?["data"]?["type"] == "BackendNotFound")
        #expect(missing["error"]?["data"]?["retryable"] == false)
        server.closeInput()
        _ = try await server.exitCode()
    }
}
