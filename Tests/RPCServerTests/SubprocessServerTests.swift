import Foundation
import JSON
import JSONRPC
import TestSupport
import Testing

@Suite struct SubprocessServerTests {
    @Test(arguments: [HarnessFraming.lsp, .ndjson])
    func servesBothFramings(_ framing: HarnessFraming) async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let server = try ServerHarness(home: home.store, framing: framing)
        let initialize = try await server.initialize(id: 1)
        #expect(initialize["result"]?["serverInfo"]?["name"] == "contenox")
        #expect(initialize["result"]?["protocolVersion"] == 1)
        server.writer.request(2, "backend/add", ["name": "b", "type": "bedrock", "url": "eu-west-1"])
        #expect(try await server.collector.response(id: 2)["result"]?["backend"]?["region"] == "eu-west-1")
        server.writer.request(3, "backend/list")
        let list = try await server.collector.response(id: 3)
        #expect(list["result"]?["backends"]?[0]?["name"] == "b")
        server.writer.request(4, "shutdown")
        #expect(try await server.collector.response(id: 4).objectValue?["result"] == .null)
        server.writer.notify("exit")
        #expect(try await server.waitForExit() == 0)
    }

    @Test func malformedFramesAndBadJSONThenAValidRequest() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let server = try ServerHarness(home: home.store, arguments: ["--max-message-bytes", "2048"])
        try await server.initialize()
        // A header without a usable length: answered with an error (id null), then resynchronised.
        server.writer.write(Array("Content-Length: abc\r\n\r\n".utf8))
        let bad = try await server.collector.nextMessage()
        #expect(bad["id"] == .null)
        #expect(bad["error"] != nil)
        server.writer.request(1, "backend/list")
        #expect(try await server.collector.response(id: 1)["result"] == ["backends": []])
        // Larger than --max-message-bytes.
        let big =
            "{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"x\",\"params\":{\"p\":\"" + String(repeating: "a", count: 4096)
            + "\"}}"
        server.writer.send(big)
        let tooBig = try await server.collector.nextMessage()
        #expect(tooBig["id"] == .null && tooBig["error"] != nil)
        server.writer.request(2, "backend/list")
        #expect(try await server.collector.response(id: 2)["result"] == ["backends": []])
        // Invalid JSON in a good frame: -32700 with id null.
        server.writer.send("{\"jsonrpc\":\"2.0\",\"id\":3,")
        let parse = try await server.collector.nextMessage()
        #expect(parse["error"]?["code"] == -32700 && parse["id"] == .null)
        // Valid JSON that is not a request: -32600.
        server.writer.send("42")
        #expect(try await server.collector.nextMessage()["error"]?["code"] == -32600)
        // Header names in any case, Content-Type accepted.
        let body = Array(#"{"jsonrpc":"2.0","id":4,"method":"backend/list"}"#.utf8)
        server.writer.write(
            Array(
                "content-length: \(body.count)\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n".utf8)
                + body)
        #expect(try await server.collector.response(id: 4)["result"] == ["backends": []])
        server.closeInput()
        #expect(try await server.waitForExit() == 1)
    }

    @Test func ndjsonBadLineThenValidRequest() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let server = try ServerHarness(home: home.store, framing: .ndjson)
        try await server.initialize()
        server.writer.write(Array("this is not json\n".utf8))
        #expect(try await server.collector.nextMessage()["error"]?["code"] == -32700)
        server.writer.request(1, "config/get")
        #expect(try await server.collector.response(id: 1)["result"] == ["config": [:]])
        server.closeInput()
        #expect(try await server.waitForExit() == 1)
    }

    @Test func editorQuirksAndErrors() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let server = try ServerHarness(home: home.store)
        try await server.initialize(id: "init")
        // Neovim: empty params as [] and the slash escaped.
        server.writer.send(#"{"jsonrpc":"2.0","id":5,"method":"backend\/list","params":[]}"#)
        #expect(try await server.collector.response(id: 5)["result"] == ["backends": []])
        // Emacs: params null.
        server.writer.send(#"{"jsonrpc":"2.0","id":6,"method":"config/get","params":null}"#)
        #expect(try await server.collector.response(id: 6)["result"] == ["config": [:]])
        // Vim: params {}.
        server.writer.send(#"{"jsonrpc":"2.0","id":7,"method":"backend/list","params":{}}"#)
        #expect(try await server.collector.response(id: 7)["result"] == ["backends": []])
        // A non-empty array is -32602.
        server.writer.send(#"{"jsonrpc":"2.0","id":8,"method":"backend/show","params":["x"]}"#)
        #expect(try await server.collector.response(id: 8)["error"]?["code"] == -32602)
        // Ids echoed as received: a string stays a string, an integer an integer.
        server.writer.request("7", "backend/list")
        let stringID = try await server.collector.response(id: "7")
        #expect(stringID["id"] == "7")
        // Unknown method.
        server.writer.request(9, "no/such/method")
        let unknown = try await server.collector.response(id: 9)
        #expect(unknown["error"]?["code"] == -32601)
        // Missing and wrong-typed params name the field.
        server.writer.request(10, "backend/show", [:])
        let missing = try await server.collector.response(id: 10)
        #expect(missing["error"]?["code"] == -32602)
        #expect(missing["error"]?["message"]?.stringValue?.contains("name") == true)
        server.writer.request(11, "backend/add", ["name": "b", "type": "bedrock", "url": 5])
        let wrongType = try await server.collector.response(id: 11)
        #expect(wrongType["error"]?["code"] == -32602)
        #expect(wrongType["error"]?["message"]?.stringValue?.contains("url") == true)
        // stdout carried only frames: every message decoded, none is a harness error.
        #expect(!server.collector.messages.contains { $0["harnessError"] != nil })
        server.writer.request(12, "shutdown")
        _ = try await server.collector.response(id: 12)
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
    }

    @Test func requestBeforeInitializeAndExitWithoutShutdown() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let server = try ServerHarness(home: home.store)
        server.writer.request(1, "backend/list")
        #expect(try await server.collector.response(id: 1)["error"]?["code"] == -32002)
        server.writer.notify("exit")
        #expect(try await server.waitForExit() == 1)
    }

    @Test func logsGoToStderrAtTheChosenLevel() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let server = try ServerHarness(home: home.store, environment: ["CONTENOX_LOG": "debug"])
        try await server.initialize()
        server.writer.request(
            1, "backend/add",
            ["name": "b", "type": "bedrock", "url": "us-east-1", "apiKeyEnv": "SECRET_HOLDER"])
        _ = try await server.collector.response(id: 1)
        server.closeInput()
        _ = try await server.waitForExit()
        // The log is read on a thread of its own; give it a moment to take in the last lines.
        let deadline = Date().addingTimeInterval(TestScale.seconds(5))
        while !server.stderr.contains("end of input") && Date() < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(server.stderr.contains("info: end of input"))
        #expect(!server.stderr.contains("SECRET_HOLDER="))
        #expect(!server.collector.messages.contains { $0["harnessError"] != nil })
    }

    @Test func frameByteByByteAndManyFramesInOneWrite() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let server = try ServerHarness(home: home.store)
        try await server.initialize()
        let frame = ContentLengthFramer.encode(Array(#"{"jsonrpc":"2.0","id":1,"method":"backend/list"}"#.utf8))
        for byte in frame {
            server.writer.write([byte])
            usleep(300)
        }
        #expect(try await server.collector.response(id: 1)["result"] == ["backends": []])
        let many = (2...4).flatMap { id in
            ContentLengthFramer.encode(Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"config/get"}"#.utf8))
        }
        server.writer.write(many)
        for id in 2...4 {
            #expect(try await server.collector.response(id: .int(Int64(id)))["result"] == ["config": [:]])
        }
        server.closeInput()
        #expect(try await server.waitForExit() == 1)
    }

    @Test func missingContentLengthIsAnsweredAndTheServerResynchronises() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let server = try ServerHarness(home: home.store)
        try await server.initialize()
        server.writer.write(Array("Content-Type: application/json\r\n\r\n".utf8))
        let bad = try await server.collector.nextMessage()
        #expect(bad["id"] == .null && bad["error"] != nil)
        server.writer.request(1, "backend/list")
        #expect(try await server.collector.response(id: 1)["result"] == ["backends": []])
        server.closeInput()
        #expect(try await server.waitForExit() == 1)
    }

    /// The server's stdout is a pipe whose reader (`true`) is already gone, so its first write fails
    /// with EPIPE: it must exit 1 by itself, not die of SIGPIPE (141) or hang. (Closing the read end in
    /// this process would not do: a thread blocked in read(2) keeps the pipe open on Linux.)
    @Test func closedOutputEndsTheServerCleanly() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", #""$0" serve | true; echo "${PIPESTATUS[0]}""#, try contenoxExecutable().path]
        var environment = ProcessInfo.processInfo.environment
        environment["CONTENOX_HOME"] = home.store
        process.environment = environment
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await Task.sleep(for: .milliseconds(300))  // `true` has exited by now
        let writer = FrameWriter(fd: stdin.fileHandleForWriting.fileDescriptor, framing: .lsp)
        writer.request(0, "initialize")
        let deadline = Date().addingTimeInterval(TestScale.seconds(20))
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!process.isRunning, "the server did not notice its closed output")
        if process.isRunning { kill(-process.processIdentifier, SIGKILL) }  // the group: bash and the server
        process.reap()
        let status = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(status.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        try? stdin.fileHandleForWriting.close()
    }
}
