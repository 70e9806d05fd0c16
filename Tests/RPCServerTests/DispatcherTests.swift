import Foundation
import JSON
import JSONRPC
import Locking
import RPCServer
import TestSupport
import Testing

/// The dispatcher driven over an in-memory connection: no pipes, no process. Each lifecycle rule is run many
/// times, in both framings and with the input written whole, a message at a time, or a byte at a time; no
/// response may be lost or duplicated.
final class MemoryServer: Sendable {
    /// Counts handlers running at once, and the most there ever were.
    final class Gauge: Sendable {
        private let state = LockedValue((now: 0, peak: 0))
        func enter() {
            state.withLock {
                $0.now += 1
                $0.peak = max($0.peak, $0.now)
            }
        }
        func leave() { state.withLock { $0.now -= 1 } }
        var peak: Int { state.withLock { $0.peak } }
    }

    /// A gate handlers wait at until it opens.
    final class Gate: Sendable {
        private let state = LockedValue<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
        func wait() async {
            await withCheckedContinuation { continuation in
                let open = state.withLock { state -> Bool in
                    if !state.open { state.waiters.append(continuation) }
                    return state.open
                }
                if open { continuation.resume() }
            }
        }
        func open() {
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.open = true
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    let connection: InMemoryConnection
    let dispatcher: Dispatcher
    let gauge = Gauge()
    let gate = Gate()

    init(framing: Framing = .lsp, maxInFlight: Int = 64) {
        var table = MethodTable()
        let gauge = self.gauge
        let gate = self.gate
        table.register("test/echo") { params, _ throws(ResponseError) in
            .object(params.object)
        }
        // Sleeps `ms` milliseconds (or until cancelled), then answers.
        table.register("test/sleep") { params, _ throws(ResponseError) in
            gauge.enter()
            defer { gauge.leave() }
            try? await Task.sleep(for: .milliseconds(try params.optionalInt("ms") ?? 10))
            return Task.isCancelled ? "cancelled" : "slept"
        }
        // Waits at the gate.
        table.register("test/gate") { _, _ throws(ResponseError) in
            gauge.enter()
            defer { gauge.leave() }
            await gate.wait()
            return "passed"
        }
        var configuration = Dispatcher.Configuration()
        configuration.version = "1.2.3"
        configuration.maxRequestsInFlight = maxInFlight
        configuration.drainTimeout = 0.5
        connection = InMemoryConnection(framing: framing)
        dispatcher = Dispatcher(
            methods: table, configuration: configuration, logger: Logger(level: .error), output: connection)
        connection.attach(dispatcher)
    }

    static func frame(_ text: String, _ framing: Framing) -> [UInt8] {
        let body = Array(text.utf8)
        switch framing {
        case .lsp: return Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
        case .ndjson: return body + [UInt8(ascii: "\n")]
        }
    }

    static func request(_ id: String, _ method: String, _ params: String = "{}") -> String {
        #"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":\#(params)}"#
    }

    static func notification(_ method: String, _ params: String = "{}") -> String {
        #"{"jsonrpc":"2.0","method":"\#(method)","params":\#(params)}"#
    }

    enum WriteMode: CaseIterable {
        case oneWrite
        case perMessage
        case byteByByte
    }

    /// Feeds the messages framed, in the given way.
    func feed(_ messages: [String], _ mode: WriteMode) {
        let frames = messages.map { Self.frame($0, connection.framing) }
        switch mode {
        case .oneWrite: connection.feed(frames.flatMap { $0 })
        case .perMessage: for frame in frames { connection.feed(frame) }
        case .byteByByte: for byte in frames.flatMap({ $0 }) { connection.feed([byte]) }
        }
    }

    /// The exit code, waiting at most `timeout` seconds.
    func exitCode(timeout: Double = 10) async throws -> Int32 {
        try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask { await self.dispatcher.wait() }
            group.addTask {
                try await Task.sleep(for: .seconds(TestScale.seconds(timeout)))
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            guard let code = first else { throw MessageCollector.TimedOut(description: "dispatcher did not finish") }
            return code
        }
    }

    /// Responses by id text; every id must appear once.
    func responses() -> [String: [JSONValue]] {
        var byID: [String: [JSONValue]] = [:]
        for message in connection.messages where message["method"] == nil {
            byID[message["id"]?.jsonString ?? "absent", default: []].append(message)
        }
        return byID
    }
}

@Suite struct DispatcherTests {
    static let cases: [(Framing, MemoryServer.WriteMode)] = Framing.allCases.flatMap { framing in
        MemoryServer.WriteMode.allCases.map { (framing, $0) }
    }

    /// How many times each lifecycle case runs (a byte at a time costs more, so it runs fewer times).
    static func runs(_ mode: MemoryServer.WriteMode) -> Int { mode == .byteByByte ? 20 : 100 }

    @Test(arguments: cases) func endOfInputAnswersEveryRequestReceived(framing: Framing, mode: MemoryServer.WriteMode)
        async throws
    {
        for _ in 0..<Self.runs(mode) {
            let server = MemoryServer(framing: framing)
            server.feed(
                [
                    MemoryServer.request("1", "initialize"), MemoryServer.request("2", "test/echo", #"{"a":1}"#),
                    MemoryServer.request("3", "test/sleep", #"{"ms":5}"#), MemoryServer.request("4", "test/echo"),
                ], mode)
            server.dispatcher.endOfInput()
            #expect(try await server.exitCode() == 1)
            let responses = server.responses()
            #expect(responses.keys.sorted() == ["1", "2", "3", "4"])
            #expect(responses.values.allSatisfy { $0.count == 1 })
            #expect(responses["3"]?.first?["result"] == "slept")
        }
    }

    @Test(arguments: cases) func shutdownAnswersAfterEverythingBeforeIt(framing: Framing, mode: MemoryServer.WriteMode)
        async throws
    {
        for _ in 0..<Self.runs(mode) {
            let server = MemoryServer(framing: framing)
            server.feed(
                [
                    MemoryServer.request("1", "initialize"), MemoryServer.request("2", "test/sleep", #"{"ms":3}"#),
                    MemoryServer.request("3", "test/echo"), MemoryServer.request("4", "shutdown"),
                    MemoryServer.request("5", "test/echo"), MemoryServer.notification("exit"),
                ], mode)
            #expect(try await server.exitCode() == 0)
            let ids = server.connection.messages.compactMap { $0["id"]?.jsonString }
            #expect(Set(ids) == ["1", "2", "3", "4", "5"] && ids.count == 5, "\(ids)")
            let responses = server.responses()
            #expect(responses["2"]?.first?["result"] == "slept")
            #expect(responses["3"]?.first?["result"] == [:])
            #expect(responses["4"]?.first?.objectValue?["result"] == .null)
            #expect(responses["5"]?.first?["error"]?["code"] == -32600)
            // Requests before shutdown are answered before it.
            let shutdownAt = ids.firstIndex(of: "4")!
            #expect(ids.firstIndex(of: "2")! < shutdownAt && ids.firstIndex(of: "3")! < shutdownAt)
        }
    }

    @Test(arguments: cases) func unknownNotificationsAreIgnored(framing: Framing, mode: MemoryServer.WriteMode)
        async throws
    {
        for _ in 0..<Self.runs(mode) / 4 {
            let server = MemoryServer(framing: framing)
            server.feed(
                [
                    MemoryServer.request("1", "initialize"),
                    MemoryServer.notification("textDocument/didOpen", #"{"textDocument":{"uri":"file:///a"}}"#),
                    MemoryServer.notification("initialized"), MemoryServer.request("2", "test/echo"),
                ], mode)
            server.dispatcher.endOfInput()
            _ = try await server.exitCode()
            #expect(server.connection.messages.count == 2)
            #expect(server.responses()["2"]?.first?["result"] == [:])
        }
    }

    @Test func idsAreEchoedAsWritten() async throws {
        let server = MemoryServer()
        let ids = ["1e2", "-0", "1.50", #""a\/b""#, "7", #""x""#, "12345678901234"]
        server.feed(
            [MemoryServer.request(#""init""#, "initialize")] + ids.map { MemoryServer.request($0, "test/echo") },
            .oneWrite)
        server.dispatcher.endOfInput()
        _ = try await server.exitCode()
        let raw = server.connection.rawMessages.map { String(decoding: $0, as: UTF8.self) }
        for id in ids {
            #expect(raw.contains { $0.hasPrefix(#"{"jsonrpc":"2.0","id":\#(id),"result":"#) }, "\(id) in \(raw)")
        }
    }

    @Test func aDuplicateIdIsAnsweredWithNullAndTheFirstStillAnswers() async throws {
        let server = MemoryServer()
        server.feed([MemoryServer.request("0", "initialize"), MemoryServer.request("5", "test/gate")], .oneWrite)
        _ = await server.connection.messages(count: 1, timeout: 5)
        server.feed([MemoryServer.request("5", "test/echo")], .oneWrite)
        let refusal = await server.connection.messages(count: 2, timeout: 5).last
        #expect(refusal?.objectValue?["id"] == .null)
        #expect(refusal?["error"]?["code"] == -32600)
        server.gate.open()
        let all = await server.connection.messages(count: 3, timeout: 5)
        #expect(all.last?["id"] == 5 && all.last?["result"] == "passed")
    }

    @Test func anIdReusedAfterACancelGetsItsOwnAnswer() async throws {
        let server = MemoryServer()
        server.feed(
            [
                MemoryServer.request("0", "initialize"), MemoryServer.request("7", "test/sleep", #"{"ms":2000}"#),
                MemoryServer.notification("$/cancelRequest", #"{"id":7}"#), MemoryServer.request("7", "test/echo"),
            ], .oneWrite)
        server.dispatcher.endOfInput()
        _ = try await server.exitCode()
        let sevens = server.connection.messages.filter { $0["id"] == 7 }
        #expect(sevens.count == 2, "\(sevens)")
        #expect(sevens.filter { $0["error"]?["code"] == -32800 }.count == 1)
        #expect(sevens.filter { $0["result"] == [:] }.count == 1)
    }

    @Test func requestsInFlightAreBoundedAndTheReaderWaits() async throws {
        let server = MemoryServer(maxInFlight: 8)
        server.feed([MemoryServer.request("0", "initialize")], .oneWrite)
        let fed = LockedValue(0)
        let feeder = Thread {
            for n in 1...100 {
                server.feed([MemoryServer.request(String(n), "test/gate")], .oneWrite)
                fed.withLock { $0 = n }
            }
        }
        feeder.start()
        try await Task.sleep(for: .milliseconds(300))
        // The initialize answer is in; 8 gate requests hold every permit, so the reader waits at the ninth.
        #expect(fed.withLock { $0 } < 10)
        #expect(server.gauge.peak <= 8)
        server.gate.open()
        let all = await server.connection.messages(count: 101, timeout: 20)
        #expect(all.count == 101)
        #expect(server.gauge.peak <= 8)
    }

    @Test func aBatchRunsItsItemsThroughTheSameLimit() async throws {
        let server = MemoryServer(maxInFlight: 4)
        server.feed([MemoryServer.request("0", "initialize")], .oneWrite)
        _ = await server.connection.messages(count: 1, timeout: 5)
        let items = (1...2000).map { MemoryServer.request(String($0), "test/sleep", #"{"ms":0}"#) }
        server.feed(["[" + items.joined(separator: ",") + "]"], .oneWrite)
        let messages = await server.connection.messages(count: 2, timeout: 20)
        let batch = try #require(messages.last?.arrayValue)
        #expect(Set(batch.map { $0["id"] }) == Set((1...2000).map { JSONValue.int(Int64($0)) }) && batch.count == 2000)
        #expect(batch.allSatisfy { $0["result"] == "slept" })
        #expect(server.gauge.peak <= 4)
    }

    @Test func aBatchThatIsNotJSONRunsNothing() async throws {
        let server = MemoryServer()
        server.feed([MemoryServer.request("0", "initialize")], .oneWrite)
        server.feed(
            [#"[{"jsonrpc":"2.0","id":1,"method":"test/gate"}, {"jsonrpc":"2.0","id":2,"method":}]"#], .oneWrite)
        let messages = await server.connection.messages(count: 2, timeout: 5)
        let error = messages.first { $0["error"] != nil }
        #expect(error?["error"]?["code"] == -32700)
        #expect(error?.objectValue?["id"] == .null)
        #expect(server.gauge.peak == 0)
    }
}
