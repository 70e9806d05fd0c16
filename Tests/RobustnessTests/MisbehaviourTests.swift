import Foundation
import JSON
import RPCServer
import TestSupport
import Testing

/// `contenox serve` against clients and networks that misbehave: each case ends in a clear error within
/// its time, the server keeps serving (the same server answers another chat correctly), memory stays
/// bounded, and sessions keep what arrived.
@Suite(.serialized) struct MisbehaviourTests {
    static func environment(home: TemporaryHome, extra: [String: String] = [:]) -> [String: String] {
        var environment = [
            "HOME": home.path, "AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "", "AWS_SESSION_TOKEN": "",
            "AWS_BEARER_TOKEN_BEDROCK": "", "AWS_ACCESS_KEY_ID": StandIn.Identity.accessKeyID,
            "AWS_SECRET_ACCESS_KEY": StandIn.Identity.secretAccessKey,
        ]
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    /// A home whose default backend is `url` (the shared stand-in when nil), and a backend `healthy` on the
    /// shared stand-in for the chat that shows the server still serves after a fault.
    static func home(url: String? = nil, extra: [String: String] = [:]) throws -> (TemporaryHome, [String: String]) {
        let home = try TemporaryHome()
        let environment = Self.environment(home: home, extra: extra)
        let standIn = try StandIn.shared().baseURL
        let target = url ?? standIn
        for arguments in [
            ["backend", "add", "b", "--type", "bedrock", "--url", target, "--region", "us-east-1"],
            ["backend", "add", "healthy", "--type", "bedrock", "--url", standIn, "--region", "us-east-1"],
            ["config", "set", "default-provider", "b"], ["config", "set", "default-model", "amazon.nova-lite-v1:0"],
        ] {
            let result = try runContenox(arguments, home: home.store, environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
        }
        return (home, environment)
    }

    static func residentMiB(_ pid: Int32) -> Double {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
    }

    /// The same server answers another chat correctly after a fault (on the `healthy` backend).
    static func expectAnotherChat(_ server: ServerHarness, id: Int64 = 99) async throws {
        server.writer.request(
            .int(id), "chat/stream", ["prompt": "still there?", "backend": "healthy", "ephemeral": true])
        let response = try await server.collector.response(id: .int(id), timeout: 60)
        let text = response["result"]?["message"]?["content"]?[0]?["text"]
        #expect(text == "Echo: still there?", "\(response.jsonString)")
    }

    /// The messages of the session `id` (the only session of a fresh home when nil).
    static func sessionMessages(_ server: ServerHarness, id: JSONValue? = nil) async throws -> [JSONValue] {
        var sessionID = id
        if sessionID == nil {
            server.writer.request(90, "session/list")
            let sessions = try await server.collector.response(id: 90)["result"]?["sessions"]?.arrayValue ?? []
            #expect(sessions.count == 1)
            sessionID = sessions.first?["sessionId"]
        }
        server.writer.request(91, "session/get", ["sessionId": try #require(sessionID)])
        let response = try await server.collector.response(id: 91, timeout: 60)
        return response["result"]?["session"]?["messages"]?.arrayValue ?? []
    }

    /// A chat that failed before anything arrived: the session holds the user's turn alone.
    static func expectOnlyTheUserTurn(_ server: ServerHarness, prompt: String) async throws {
        let messages = try await Self.sessionMessages(server)
        #expect(messages.count == 1)
        #expect(messages.first?["role"] == "user")
        #expect(messages.first?["content"]?[0]?["text"] == .string(prompt))
    }

    @Test(arguments: [
        ("http://127.0.0.1:1", "ConnectionFailed"), ("http://nonexistent-host.invalid:8080", "ConnectionFailed"),
    ])
    func unreachableEndpointsFailFastWithAHint(url: String, type: String) async throws {
        let (home, environment) = try Self.home(url: url)
        let server = try ServerHarness(home: home.store, environment: environment)
        try await server.initialize()
        let started = ContinuousClock.now
        server.writer.request(1, "chat/stream", ["prompt": "hi"])
        let response = try await server.collector.response(id: 1, timeout: 60)
        #expect(response["error"]?["data"]?["type"] == .string(type), "\(response.jsonString)")
        #expect(response["error"]?["data"]?["hint"]?.stringValue?.isEmpty == false)
        #expect(ContinuousClock.now - started < TestScale.time(.seconds(30)))
        try await Self.expectOnlyTheUserTurn(server, prompt: "hi")
        try await Self.expectAnotherChat(server)
    }

    @Test func aSelfSignedCertificateIsRefused() async throws {
        let directory = try TemporaryHome()
        let certificate = directory.path + "/cert.pem"
        let key = directory.path + "/key.pem"
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-keyout", key, "-out", certificate,
        ]
        openssl.standardInput = FileHandle.nullDevice
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0, "openssl could not make a certificate")
        let portFile = directory.path + "/port"
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = [
            "python3", "-c",
            """
            import http.server, ssl, sys
            httpd = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[1], sys.argv[2])
            httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
            open(sys.argv[3], "w").write(str(httpd.server_address[1]))
            httpd.serve_forever()
            """, certificate, key, portFile,
        ]
        server.standardInput = FileHandle.nullDevice
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.reap()
        }
        var port = ""
        for _ in 0..<200 where port.isEmpty {
            try await Task.sleep(for: .milliseconds(20))
            port = (try? String(contentsOfFile: portFile, encoding: .utf8)) ?? ""
        }
        try #require(!port.isEmpty)
        let (home, environment) = try Self.home(url: "https://127.0.0.1:\(port)")
        let contenox = try ServerHarness(home: home.store, environment: environment)
        try await contenox.initialize()
        let started = ContinuousClock.now
        contenox.writer.request(1, "chat/stream", ["prompt": "hi"])
        let response = try await contenox.collector.response(id: 1, timeout: 60)
        #expect(response["error"]?["data"]?["type"] == "ConnectionFailed", "\(response.jsonString)")
        let message = (response["error"]?["message"]?.stringValue ?? "").lowercased()
        #expect(message.contains("certificate") || message.contains("ssl") || message.contains("tls"), "\(message)")
        #expect(ContinuousClock.now - started < TestScale.time(.seconds(30)))
        try await Self.expectOnlyTheUserTurn(contenox, prompt: "hi")
        try await Self.expectAnotherChat(contenox)
    }

    /// A fault the stand-in injects into one chat.
    struct Fault: Sendable, CustomStringConvertible {
        var directive: String
        /// The error types that may end the chat.
        var types: [String]
        /// Whether deltas arrive before the fault; the session then holds an incomplete answer.
        var deltasFirst = true
        /// What the error message must say, e.g. that the connection was reset rather than closed.
        var says = ""
        var serveArguments: [String] = []
        /// The chat must have failed within this time.
        var within: Duration = .seconds(30)
        var description: String { directive }
    }

    static let faults: [Fault] = [
        .init(directive: "@@garbage-after=3", types: ["StreamCorrupt"]),
        .init(directive: "@@bad-crc-after=3", types: ["StreamCorrupt"]),
        // A clean close (FIN) mid-stream, and a reset (RST) mid-stream.
        .init(directive: "@@cut-after=3", types: ["ConnectionFailed", "StreamCorrupt"]),
        .init(directive: "@@reset-after=3", types: ["ConnectionFailed"], says: "reset"),
        .init(directive: "@@stream-exception=3", types: ["modelStreamErrorException"]),
        // Stalls of 15 s against an idle timeout of 1 s: failing well within the stall proves the timeout
        // fired. Before the headers the client retries (three attempts with backoff), hence the 12 s.
        .init(
            directive: "@@stall-ms=15000", types: ["Timeout"], serveArguments: ["--idle-timeout", "1"],
            within: .seconds(10)),
        .init(
            directive: "@@stall-before-ms=15000", types: ["Timeout"], deltasFirst: false,
            serveArguments: ["--idle-timeout", "1"], within: .seconds(12)),
        .init(directive: "@@garbage-reply", types: ["ConnectionFailed"], deltasFirst: false),
    ]

    @Test(arguments: faults)
    func faultsEndInATypedErrorAndKeepWhatArrived(fault: Fault) async throws {
        let (home, environment) = try Self.home()
        let server = try ServerHarness(home: home.store, arguments: fault.serveArguments, environment: environment)
        try await server.initialize()
        let prompt = "x @@tokens=10 @@delay-ms=5 \(fault.directive)"
        let started = ContinuousClock.now
        server.writer.request(1, "chat/stream", ["prompt": .string(prompt)])
        let response = try await server.collector.response(id: 1, timeout: 60)
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < fault.within, "took \(elapsed)")
        let type = response["error"]?["data"]?["type"]?.stringValue ?? ""
        #expect(fault.types.contains(type), "\(response.jsonString)")
        let message = response["error"]?["message"]?.stringValue ?? ""
        #expect(fault.says.isEmpty || message.localizedCaseInsensitiveContains(fault.says), "\(message)")
        #expect(response["error"]?["data"]?["hint"]?.stringValue?.isEmpty == false)

        let deltas = server.collector.take { $0["method"] == "chat/delta" }
        if fault.deltasFirst {
            let sessionID = try #require(deltas.first?["params"]?["sessionId"])
            let messages = try await Self.sessionMessages(server, id: sessionID)
            #expect(messages.count == 2)
            #expect(messages.last?["status"] == "incomplete")
            // Whatever the client was sent is in the session (which may hold more: the server stops
            // notifying once the request has failed).
            let saved = messages.last?["content"]?[0]?["text"]?.stringValue ?? ""
            let sent = deltas.compactMap { $0["params"]?["delta"]?["text"]?.stringValue }.joined()
            #expect(saved.hasPrefix(" tok") && saved.hasPrefix(sent), "saved \(saved), sent \(sent)")
        } else {
            #expect(deltas.isEmpty)
            try await Self.expectOnlyTheUserTurn(server, prompt: prompt)
        }
        try await Self.expectAnotherChat(server)
    }

    @Test func aTwentyMiBEventArrivesWholeAndIsSaved() async throws {
        let (home, environment) = try Self.home()
        let server = try ServerHarness(home: home.store, environment: environment)
        try await server.initialize()
        server.writer.request(1, "chat/stream", ["prompt": "x @@big-event=20971520"])
        let response = try await server.collector.response(id: 1, timeout: 120)
        let text = response["result"]?["message"]?["content"]?[0]?["text"]?.stringValue ?? ""
        #expect(text.utf8.count == 20_971_520)
        let messages = try await Self.sessionMessages(server, id: response["result"]?["sessionId"])
        #expect(messages.last?["status"] == "complete")
        #expect(messages.last?["content"]?[0]?["text"]?.stringValue?.utf8.count == 20_971_520)
        try await Self.expectAnotherChat(server)
    }

    /// 10^6 events through `contenox serve`: the whole text arrives in the deltas and the result, and the
    /// saved session holds it.
    @Test func aMillionEventsArriveWholeAndAreSaved() async throws {
        let (home, environment) = try Self.home()
        let server = try ServerHarness(home: home.store, environment: environment)
        try await server.initialize()
        let started = ContinuousClock.now
        server.writer.request(1, "chat/stream", ["prompt": "x @@tokens=1000000"])
        var deltaBytes = 0
        func takeDeltas() {
            for delta in server.collector.take(where: { $0["method"] == "chat/delta" }) {
                deltaBytes += delta["params"]?["delta"]?["text"]?.stringValue?.utf8.count ?? 0
            }
        }
        var response: JSONValue?
        while response == nil {
            takeDeltas()
            response = server.collector.take { $0["id"] == 1 }.first
            try #require(
                ContinuousClock.now - started < TestScale.time(.seconds(600)),
                "no answer after \(deltaBytes) bytes of deltas")
            try await Task.sleep(for: .milliseconds(20))
        }
        takeDeltas()
        let result = try #require(response?["result"], "\(response?.jsonString ?? "")")
        #expect(result["message"]?["content"]?[0]?["text"]?.stringValue?.utf8.count == 4_000_000)
        #expect(result["usage"]?["outputTokens"] == 1_000_000)
        #expect(deltaBytes == 4_000_000)
        let messages = try await Self.sessionMessages(server, id: result["sessionId"])
        #expect(messages.count == 2)
        #expect(messages.last?["status"] == "complete")
        #expect(messages.last?["content"]?[0]?["text"]?.stringValue?.utf8.count == 4_000_000)
        try await Self.expectAnotherChat(server)
    }

    /// A client that stops reading: the server stops at its output bound instead of queueing the stream.
    @Test func aClientThatStopsReadingDoesNotGrowTheServer() async throws {
        let (home, environment) = try Self.home()
        let process = try contenoxProcess(["serve"], home: home.store, environment: environment)
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.reap()
        }
        let writer = FrameWriter(fd: stdin.fileHandleForWriting.fileDescriptor, framing: .lsp)
        writer.request(0, "initialize")
        writer.request(1, "chat/stream", ["prompt": "x @@tokens=400000", "ephemeral": true])
        // Nobody reads stdout for three seconds while 400,000 deltas arrive.
        var peak = 0.0
        for _ in 0..<30 {
            try await Task.sleep(for: .milliseconds(100))
            peak = max(peak, Self.residentMiB(process.processIdentifier))
        }
        #expect(peak < TestScale.mebibytes(120), "server RSS reached \(peak) MiB while the client did not read")
        // Then it reads everything and gets the whole answer.
        let collector = MessageCollector(fd: stdout.fileHandleForReading.fileDescriptor, framing: .lsp)
        let response = try await collector.response(id: 1, timeout: 120)
        let text = response["result"]?["message"]?["content"]?[0]?["text"]?.stringValue ?? ""
        #expect(text.utf8.count == 1_600_000)
    }

    @Test func thousandsOfPipelinedRequestsAndCancelsForEveryId() async throws {
        let home = try TemporaryHome()
        let server = try ServerHarness(home: home.store, environment: Self.environment(home: home))
        try await server.initialize()
        var batch: [UInt8] = []
        for id in 1...3000 {
            let body = JSONValue.object(["jsonrpc": "2.0", "id": .int(Int64(id)), "method": "config/get"]).serialized()
            batch += Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
            let cancel = JSONValue.object([
                "jsonrpc": "2.0", "method": "$/cancelRequest", "params": ["id": .int(Int64(id + 100_000))],
            ]).serialized()
            batch += Array("Content-Length: \(cancel.count)\r\n\r\n".utf8) + cancel
        }
        server.writer.write(batch)
        for id in stride(from: 1, through: 3000, by: 1) {
            _ = try await server.collector.response(id: .int(Int64(id)), timeout: 60)
        }
        server.writer.request(1, "config/get")
        #expect(try await server.collector.response(id: 1)["result"] != nil)
    }

    @Test func invalidUTF8DeepNestingAndAHugeClaimAreAnswered() async throws {
        let home = try TemporaryHome()
        let server = try ServerHarness(home: home.store, environment: Self.environment(home: home))
        try await server.initialize()
        server.writer.send(
            body: Array(#"{"jsonrpc":"2.0","id":1,"method":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8))
        #expect(try await server.collector.next { $0["error"]?["code"] == -32700 }["id"] == .null)
        server.writer.send(
            body: Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8))
        _ = try await server.collector.next { $0["error"]?["code"] == -32700 }
        server.writer.write(Array("Content-Length: 1073741824\r\n\r\n".utf8))
        _ = try await server.collector.next { $0["error"]?["message"]?.stringValue?.contains("larger") == true }
        // The claimed body is skipped as it streams, never buffered: 64 MiB of it leave memory flat.
        let before = Self.residentMiB(server.processIdentifier)
        for _ in 0..<16 { server.writer.write([UInt8](repeating: 0x20, count: 4 << 20)) }
        try await Task.sleep(for: .milliseconds(300))
        let after = Self.residentMiB(server.processIdentifier)
        #expect(after - before < TestScale.mebibytes(16), "RSS went from \(before) to \(after) MiB")
    }

    /// Adds backend `keyed` on the shared stand-in, whose keys are the JSON blob in `AWS_BEDROCK_CREDS`, and
    /// starts an initialized server that logs at the most verbose level.
    static func serveWithKeyedBackend(home: TemporaryHome, environment: [String: String]) async throws
        -> ServerHarness
    {
        let added = try runContenox(
            [
                "backend", "add", "keyed", "--type", "bedrock", "--url", try StandIn.shared().baseURL, "--region",
                "us-east-1", "--api-key-env", "AWS_BEDROCK_CREDS",
            ],
            home: home.store, environment: environment)
        #expect(added.status == 0)
        let server = try ServerHarness(
            home: home.store, arguments: ["--log-level", "debug"], environment: environment)
        try await server.initialize()
        return server
    }

    @Test func secretsNeverReachTheDatabaseLogsOrErrors() async throws {
        let markerSecret = "MARKERsecretVALUE\(UInt32.random(in: 1000...9999))"
        let markerToken = "MARKERtokenVALUE\(UInt32.random(in: 1000...9999))"
        let blob =
            #"{"AccessKeyID":"AKIAMARKERKEY","SecretAccessKey":"\#(markerSecret)","SessionToken":"\#(markerToken)"}"#
        let (home, environment) = try Self.home(extra: [
            "AWS_BEDROCK_CREDS": blob, "AWS_SECRET_ACCESS_KEY": markerSecret + "env", "CONTENOX_LOG": "debug",
        ])
        let server = try await Self.serveWithKeyedBackend(home: home, environment: environment)
        server.writer.request(1, "chat/stream", ["prompt": "hi", "backend": "keyed"])
        let keyed = try await server.collector.response(id: 1, timeout: 60)
        server.writer.request(2, "chat/stream", ["prompt": "hi"])
        let byEnvironment = try await server.collector.response(id: 2, timeout: 60)
        server.writer.request(3, "backend/check", ["name": "keyed"])
        let check = try await server.collector.response(id: 3, timeout: 60)
        server.closeInput()
        _ = try await server.waitForExit()
        var haystacks = [keyed.jsonString, byEnvironment.jsonString, check.jsonString, server.stderr]
        for name in ["contenox.db", "contenox.db-wal", "contenox.db-shm"] {
            if let data = FileManager.default.contents(atPath: home.store + "/" + name) {
                haystacks.append(String(decoding: data, as: UTF8.self))
            }
        }
        for text in haystacks {
            #expect(!text.contains(markerSecret))
            #expect(!text.contains(markerToken))
        }
        #expect(haystacks.joined().contains("AWS_BEDROCK_CREDS"), "the variable's name is what is kept")
        let attributes = try FileManager.default.attributesOfItem(atPath: home.store + "/contenox.db")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let directory = try FileManager.default.attributesOfItem(atPath: home.store)
        #expect((directory[.posixPermissions] as? Int) == 0o700)
    }

    /// A server that crashes while it signs with keys from the environment prints one line naming the
    /// signal, and nothing read from memory (the Swift runtime's backtracer would print 16 bytes at every
    /// register's address); it still dies of the signal, as a crash reporter expects.
    @Test(arguments: [SIGSEGV, SIGABRT, SIGBUS])
    func aCrashPrintsOneLineAndNoSecrets(signal: Int32) async throws {
        // Keys the stand-in accepts, so that the crash comes while they are in use, signing a live stream.
        let markerSecret = StandIn.Identity.sessionSecretAccessKey
        let markerToken = StandIn.Identity.sessionToken
        let blob = JSONValue.object([
            "AccessKeyID": .string(StandIn.Identity.sessionAccessKeyID), "SecretAccessKey": .string(markerSecret),
            "SessionToken": .string(markerToken),
        ]).jsonString
        // An inherited SWIFT_BACKTRACE would bring the runtime's backtracer back: empty means unset.
        let (home, environment) = try Self.home(extra: ["AWS_BEDROCK_CREDS": blob, "SWIFT_BACKTRACE": ""])
        let server = try await Self.serveWithKeyedBackend(home: home, environment: environment)
        server.writer.request(
            1, "chat/stream", ["prompt": "@@tokens=2000 @@delay-ms=5", "backend": "keyed", "ephemeral": true])
        _ = try await server.collector.next(timeout: 60) { $0["method"] == "chat/delta" }
        kill(server.processIdentifier, signal)
        #expect(try await server.waitForExit() == signal, "the process dies of the signal")
        let line = "contenox: crashed with signal \(signal);"
        let deadline = Date().addingTimeInterval(TestScale.seconds(10))
        while !server.stderr.contains(line), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let log = server.stderr
        let crash = try #require(log.range(of: line), "no crash line in: \(log)")
        let after = log[crash.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
        #expect(after.count == 2 && after[1].isEmpty, "the crash line is all that follows: \(log[crash.lowerBound...])")
        #expect(!log.contains(markerSecret))
        #expect(!log.contains(markerToken))
    }

    /// SIGKILL at seeded random moments during chats and configuration writes; the database stays sound.
    @Test func killedAtRandomMomentsTheStoreStaysSound() async throws {
        let (home, environment) = try Self.home()
        var rng = SeededGenerator(seed: 7)
        for round in 0..<8 {
            let server = try ServerHarness(home: home.store, environment: environment)
            try await server.initialize()
            server.writer.request(1, "chat/stream", ["prompt": .string("round \(round) @@tokens=300 @@delay-ms=2")])
            for index in 0..<20 {
                server.writer.request(
                    .int(Int64(10 + index)), "config/set",
                    [
                        "key": "default-model", "value": .string("amazon.nova-lite-v1:\(index)"),
                    ])
            }
            try await Task.sleep(for: .milliseconds(50 + rng.below(600)))
            server.kill9()
            let store = try Store(path: home.store + "/contenox.db")
            #expect(try store.integrityCheck() == "ok")
            let listed = try runContenox(["session", "list", "--json"], home: home.store, environment: environment)
            #expect(listed.status == 0)
            #expect((try? JSONValue.parse(listed.stdout))?.arrayValue != nil)
        }
    }
}
