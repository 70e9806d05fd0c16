import Foundation
import JSON
import RPCServer
import TestSupport
import Testing

/// `chat/stream` and `chat/send` through `contenox serve` against the local Bedrock stand-in: what an
/// editor sees, and what the stand-in and the store see behind it.
@Suite struct ChatEndToEndTests {
    /// A temporary home with a backend pointing at the stand-in, and the stand-in's keys.
    struct Fixture {
        let home: TemporaryHome
        let standIn: StandIn
        let environment: [String: String]

        init(standIn: StandIn? = nil, defaultModel: String? = "amazon.nova-lite-v1:0", keys: Bool = true) throws {
            home = try TemporaryHome()
            self.standIn = try standIn ?? StandIn.shared()
            var environment = [
                "HOME": home.path, "AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "", "AWS_SESSION_TOKEN": "",
                "AWS_BEARER_TOKEN_BEDROCK": "", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
            ]
            if keys {
                environment["AWS_ACCESS_KEY_ID"] = StandIn.Identity.accessKeyID
                environment["AWS_SECRET_ACCESS_KEY"] = StandIn.Identity.secretAccessKey
            }
            self.environment = environment
            try cli([
                "backend", "add", "standin", "--type", "bedrock", "--url", self.standIn.baseURL, "--region",
                "us-east-1",
            ])
            try cli(["config", "set", "default-provider", "standin"])
            if let defaultModel { try cli(["config", "set", "default-model", defaultModel]) }
        }

        func cli(_ arguments: [String]) throws {
            let result = try runContenox(arguments, home: home.store, environment: environment)
            #expect(result.status == 0, "contenox \(arguments): \(result.stderr)")
        }

        func server() async throws -> ServerHarness {
            let server = try ServerHarness(home: home.store, environment: environment)
            try await server.initialize()
            return server
        }
    }

    /// Sends `$/cancelRequest` for `id` and returns how long the -32800 took to arrive.
    static func cancelAndTime(_ server: ServerHarness, id: JSONValue) async throws -> Duration {
        let cancelled = ContinuousClock.now
        server.writer.notify("$/cancelRequest", ["id": id])
        let answer = try await server.collector.response(id: id)
        let elapsed = ContinuousClock.now - cancelled
        #expect(answer["error"]?["code"] == -32800)
        #expect(elapsed < TestScale.time(.seconds(1)))
        return elapsed
    }

    static func text(of result: JSONValue?) -> String {
        (result?["message"]?["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
    }

    static func deltaText(_ messages: [JSONValue], requestID: JSONValue) -> String {
        messages.filter { $0["method"] == "chat/delta" && $0["params"]?["requestId"] == requestID }
            .compactMap { $0["params"]?["delta"]?["text"]?.stringValue }.joined()
    }

    @Test func deltasArriveBeforeTheResultAndReassembleToIt() async throws {
        let fixture = try Fixture()
        let server = try await fixture.server()
        // Spaced deltas (wider in a slow run): a burst would be coalesced into fewer notifications (see
        // NotificationOutbox).
        let delay = TestScale.milliseconds(10)
        server.writer.request(1, "chat/stream", ["prompt": .string("hello there streaming world @@delay-ms=\(delay)")])
        var deltas: [JSONValue] = []
        var result: JSONValue?
        while result == nil {
            let message = try await server.collector.nextMessage()
            if message["method"] == "chat/delta" {
                deltas.append(message)
            } else if message["id"] == 1 {
                result = message["result"]
                #expect(message["error"] == nil, "\(message.jsonString)")
            }
        }
        let sessionID = try #require(result?["sessionId"]?.stringValue)
        #expect(deltas.count >= 4)
        #expect(
            deltas.allSatisfy { $0["params"]?["requestId"] == 1 && $0["params"]?["sessionId"] == .string(sessionID) })
        let streamed = deltas.compactMap { $0["params"]?["delta"]?["text"]?.stringValue }.joined()
        #expect(streamed == "Echo: hello there streaming world")
        #expect(Self.text(of: result) == streamed)
        #expect(result?["stopReason"] == "end_turn")
        #expect(result?["model"] == "amazon.nova-lite-v1:0")
        #expect(result?["backend"] == "standin")
        #expect(result?["usage"]?["outputTokens"]?.intValue ?? 0 > 0)
        #expect(result?["metrics"]?["latencyMs"] != nil)
    }

    @Test func aTwoTurnSessionSendsTheWholeHistory() async throws {
        let fixture = try Fixture()
        let server = try await fixture.server()
        let marker = UUID().uuidString.prefix(8)
        server.writer.request(1, "chat/stream", ["prompt": .string("first \(marker)")])
        let first = try await server.collector.response(id: 1)
        let sessionID = try #require(first["result"]?["sessionId"])
        server.writer.request(2, "chat/stream", ["prompt": .string("second \(marker)"), "sessionId": sessionID])
        let second = try await server.collector.response(id: 2)
        #expect(Self.text(of: second["result"]) == "Echo: second \(marker)")
        #expect(second["result"]?["sessionId"] == sessionID)

        let bodies = try fixture.standIn.requests().arrayValue?.compactMap { $0["body"]?.stringValue } ?? []
        let body = try #require(bodies.last { $0.contains("second \(marker)") })
        let messages = try JSONValue.parse(body)["messages"]?.arrayValue ?? []
        #expect(messages.count == 3)
        #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "user"])

        server.writer.request(3, "session/get", ["sessionId": sessionID])
        let session = try await server.collector.response(id: 3)
        #expect(session["result"]?["session"]?["messages"]?.arrayValue?.count == 4)
        #expect(session["result"]?["session"]?["usage"]?["totalTokens"]?.intValue ?? 0 > 0)
        server.writer.request(4, "session/list")
        let list = try await server.collector.response(id: 4)
        #expect(list["result"]?["sessions"]?.arrayValue?.first?["title"] == .string("first \(marker)"))
    }

    @Test func toolUseRoundTrip() async throws {
        let fixture = try Fixture()
        let server = try await fixture.server()
        let toolConfig: JSONValue = [
            "tools": [
                [
                    "toolSpec": [
                        "name": "lookup", "description": "look things up", "inputSchema": ["json": ["type": "object"]],
                    ]
                ]
            ]
        ]
        server.writer.request(1, "chat/stream", ["prompt": "find cats @@tool=lookup", "toolConfig": toolConfig])
        let first = try await server.collector.response(id: 1)
        let result = try #require(first["result"])
        #expect(result["stopReason"] == "tool_use")
        let toolUse = try #require(result["message"]?["content"]?.arrayValue?.compactMap { $0["toolUse"] }.first)
        #expect(toolUse["name"] == "lookup")
        #expect(toolUse["input"] == ["query": "find cats"])
        let starts = server.collector.messages.filter {
            $0["method"] == "chat/blockStart" && $0["params"]?["requestId"] == 1
        }
        #expect(starts.first?["params"]?["start"]?["toolUse"]?["name"] == "lookup")

        // The answer goes back as a toolResult; the session remembers the tool configuration.
        server.writer.request(
            2, "chat/stream",
            [
                "sessionId": result["sessionId"]!,
                "content": [["toolResult": ["toolUseId": toolUse["toolUseId"]!, "content": [["text": "42"]]]]],
            ])
        let second = try await server.collector.response(id: 2)
        #expect(Self.text(of: second["result"]) == "Tool said: 42", "\(second.jsonString)")
    }

    @Test func reasoningIsStreamedAndKeptWithItsSignature() async throws {
        let fixture = try Fixture()
        let server = try await fixture.server()
        server.writer.request(1, "chat/stream", ["prompt": "think @@reasoning"])
        let response = try await server.collector.response(id: 1)
        let content = response["result"]?["message"]?["content"]?.arrayValue ?? []
        let reasonings = content.compactMap { $0["reasoningContent"]?["reasoningText"] }
        let reasoning = try #require(reasonings.first)
        #expect(reasoning["text"] == "Let me think about it.")
        #expect(reasoning["signature"] == "standin-signature")
        #expect(Self.text(of: response["result"]) == "Echo: think")
        let reasoningDeltas = server.collector.messages.filter {
            $0["params"]?["requestId"] == 1 && $0["params"]?["delta"]?["reasoningContent"] != nil
        }
        #expect(!reasoningDeltas.isEmpty)
        // The next turn sends the signed reasoning back, which the stand-in accepts.
        server.writer.request(2, "chat/stream", ["prompt": "and then", "sessionId": response["result"]!["sessionId"]!])
        #expect(try await server.collector.response(id: 2)["result"] != nil)
    }

    @Test(arguments: [
        ("access-denied", "AccessDeniedException", "Model access", -32000),
        ("on-demand", "ValidationException", "us.", -32000),
        ("unrecognized-client", "UnrecognizedClientException", "region", -32000),
        ("expired-token", "ExpiredTokenException", "", -32000),
        ("throttle", "ThrottlingException", "", -32000),
    ])
    func bedrockErrorsReachTheClientWithTheirHint(directive: String, type: String, hint: String, code: Int64)
        async throws
    {
        let fixture = try Fixture()
        let server = try await fixture.server()
        server.writer.request(1, "chat/stream", ["prompt": .string("x @@fail=\(directive)")])
        let response = try await server.collector.response(id: 1, timeout: 60)
        let error = try #require(response["error"])
        #expect(error["code"]?.intValue == code)
        #expect(error["data"]?["type"] == .string(type))
        let givenHint = error["data"]?["hint"]?.stringValue ?? ""
        #expect(!givenHint.isEmpty)
        if !hint.isEmpty { #expect(givenHint.contains(hint), "\(givenHint)") }
        #expect(error["data"]?["retryable"] != nil)
    }

    @Test func missingCredentialsModelAndBackendSayWhatToRun() async throws {
        let noKeys = try Fixture(keys: false)
        let server = try await noKeys.server()
        server.writer.request(1, "chat/stream", ["prompt": "hi"])
        let credentials = try await server.collector.response(id: 1)
        #expect(credentials["error"]?["code"] == -32001)
        #expect(credentials["error"]?["data"]?["type"] == "CredentialsNotFound")
        #expect(credentials["error"]?["data"]?["hint"]?.stringValue?.contains("AWS_PROFILE") == true)

        let noModel = try Fixture(defaultModel: nil)
        let second = try await noModel.server()
        second.writer.request(1, "chat/stream", ["prompt": "hi"])
        let model = try await second.collector.response(id: 1)
        #expect(model["error"]?["data"]?["type"] == "ModelNotSet")
        #expect(model["error"]?["data"]?["hint"]?.stringValue?.contains("contenox config set default-model") == true)

        let empty = try TemporaryHome()
        let third = try ServerHarness(home: empty.store, environment: noKeys.environment)
        try await third.initialize()
        third.writer.request(1, "chat/send", ["prompt": "hi", "model": "amazon.nova-lite-v1:0"])
        let backend = try await third.collector.response(id: 1)
        #expect(backend["error"]?["data"]?["type"] == "BackendNotFound")
        #expect(backend["error"]?["data"]?["hint"]?.stringValue?.contains("contenox backend add") == true)
    }

    @Test func chatSendUsesConverse() async throws {
        let fixture = try Fixture()
        let server = try await fixture.server()
        server.writer.request(1, "chat/send", ["prompt": "plain call", "ephemeral": true])
        let response = try await server.collector.response(id: 1)
        #expect(Self.text(of: response["result"]) == "Echo: plain call")
        #expect(response["result"]?["sessionId"] == .null)
        #expect(server.collector.messages.filter { $0["method"] == "chat/delta" }.isEmpty)
        let paths = try fixture.standIn.requests().arrayValue?.compactMap { $0["path"]?.stringValue } ?? []
        #expect(paths.contains { $0.hasSuffix("/converse") })
    }

    @Test func cancellingAStreamAnswersAtOnceClosesTheConnectionAndKeepsThePartialAnswer() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let fixture = try Fixture(standIn: standIn)
        let server = try await fixture.server()
        let before = try standIn.stats()["clientDisconnects"]?.intValue ?? 0
        server.writer.request(1, "chat/stream", ["prompt": "slow @@tokens=500 @@delay-ms=20"])
        let firstDelta = try await server.collector.next {
            $0["method"] == "chat/delta" && $0["params"]?["requestId"] == 1
        }
        let sessionID = try #require(firstDelta["params"]?["sessionId"])
        try await Task.sleep(for: .milliseconds(1300))  // past the first periodic save
        var fastest = try await Self.cancelAndTime(server, id: 1)
        // On 2 shared cores a single measurement can miss by scheduling alone: the fastest of up to three
        // cancels must be under 100 ms (the first one's partial answer is what the rest of the test checks).
        for retry in 0..<2 where fastest >= TestScale.time(.milliseconds(100)) {
            let id = JSONValue.int(Int64(50 + retry))
            server.writer.request(id, "chat/stream", ["prompt": "slow @@tokens=500 @@delay-ms=20", "ephemeral": true])
            _ = try await server.collector.next { $0["method"] == "chat/delta" && $0["params"]?["requestId"] == id }
            fastest = min(fastest, try await Self.cancelAndTime(server, id: id))
        }
        #expect(fastest < TestScale.time(.milliseconds(100)), "cancel answered after \(fastest)")

        var disconnects = before
        for _ in 0..<200 where disconnects == before {
            try await Task.sleep(for: .milliseconds(10))
            disconnects = try standIn.stats()["clientDisconnects"]?.intValue ?? 0
        }
        #expect(disconnects > before, "the stand-in saw the connection closed")

        // The partial answer is kept, marked incomplete, and the session goes on under Bedrock's rules.
        try await Task.sleep(for: .milliseconds(200))
        server.writer.request(2, "session/get", ["sessionId": sessionID])
        let session = try await server.collector.response(id: 2)
        let messages = session["result"]?["session"]?["messages"]?.arrayValue ?? []
        #expect(messages.count == 2)
        #expect(messages.last?["status"] == "incomplete")
        #expect(messages.last?["content"]?[0]?["text"]?.stringValue?.hasPrefix(" tok tok") == true)
        server.writer.request(3, "chat/stream", ["prompt": "after the cancel", "sessionId": sessionID])
        let next = try await server.collector.response(id: 3)
        #expect(Self.text(of: next["result"]) == "Echo: after the cancel", "\(next.jsonString)")
    }

    @Test func thirtyTwoConcurrentStreamsDoNotCrossAndOtherRequestsAreAnswered() async throws {
        let fixture = try Fixture()
        let server = try await fixture.server()
        for index in 0..<32 {
            server.writer.request(
                .int(Int64(100 + index)), "chat/stream",
                [
                    "prompt": .string(
                        "stream \(index) word\(index) more\(index) @@delay-ms=\(TestScale.milliseconds(200))"),
                    "ephemeral": true,
                ])
        }
        for _ in 0..<2000 where !server.collector.messages.contains(where: { $0["method"] == "chat/delta" }) {
            try await Task.sleep(for: .milliseconds(5))
        }
        server.writer.request(1, "config/get")
        _ = try await server.collector.response(id: 1, timeout: 2)
        let unfinished = (0..<32).filter { index in
            !server.collector.messages.contains { $0["id"] == .int(Int64(100 + index)) }
        }
        #expect(!unfinished.isEmpty, "config/get was answered while streams ran")
        for index in 0..<32 {
            let id = JSONValue.int(Int64(100 + index))
            let response = try await server.collector.response(id: id, timeout: 60)
            let expected = "Echo: stream \(index) word\(index) more\(index)"
            #expect(Self.text(of: response["result"]) == expected)
            #expect(Self.deltaText(server.collector.messages, requestID: id) == expected)
        }
    }

    @Test func aKilledServerLeavesAReadableSession() async throws {
        let fixture = try Fixture()
        let server = try await fixture.server()
        server.writer.request(1, "chat/stream", ["prompt": "slow @@tokens=400 @@delay-ms=10"])
        let delta = try await server.collector.next { $0["method"] == "chat/delta" }
        let sessionID = try #require(delta["params"]?["sessionId"])
        try await Task.sleep(for: .milliseconds(1500))
        server.kill9()

        let store = try Store(path: fixture.home.store + "/contenox.db")
        #expect(try store.integrityCheck() == "ok")
        let fresh = try await fixture.server()
        fresh.writer.request(1, "session/get", ["sessionId": sessionID])
        let session = try await fresh.collector.response(id: 1)
        let messages = session["result"]?["session"]?["messages"]?.arrayValue ?? []
        #expect(messages.first?["content"]?[0]?["text"] == "slow @@tokens=400 @@delay-ms=10")
        #expect(messages.count == 2, "the partial answer saved before the kill")
        #expect(messages.last?["status"] == "incomplete")
        #expect(messages.last?["content"]?[0]?["text"]?.stringValue?.hasPrefix(" tok") == true)
        fresh.writer.request(2, "chat/stream", ["prompt": "resumed", "sessionId": sessionID])
        #expect(Self.text(of: try await fresh.collector.response(id: 2)["result"]) == "Echo: resumed")
    }

    /// A throttled attempt is retried, and the client hears of it while it waits (issue 15: retries made
    /// visible): a `chat/status` before the answer's deltas, and one line on the CLI's stderr.
    @Test func aRetryIsAnnouncedWhileItWaits() async throws {
        let fixture = try Fixture()
        let server = try await fixture.server()
        let key = UUID().uuidString
        server.writer.request(
            1, "chat/stream", ["prompt": .string("slowly @@throttle-once=\(key)"), "ephemeral": true])
        let answer = try await server.collector.response(id: 1)
        #expect(Self.text(of: answer["result"]) == "Echo: slowly")
        let status = server.collector.messages.filter { $0["method"] == "chat/status" }
        #expect(status.count == 1, "\(server.collector.messages)")
        let params = status.first?["params"]
        #expect(params?["requestId"] == 1 && params?["state"] == "retrying" && params?["attempt"] == 2)
        #expect(params?["reason"] == "ThrottlingException" && params?["maxAttempts"] == 3)
        #expect((params?["delayMs"]?.intValue ?? -1) >= 0)

        let cli = try runContenox(
            ["chat", "--ephemeral", "again @@throttle-once=\(UUID().uuidString)"], home: fixture.home.store,
            environment: fixture.environment)
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(cli.stdout.contains("Echo: again"))
        let lines = cli.stderr.split(separator: "\n").filter { $0.contains("retrying") }
        #expect(lines.count == 1 && lines.first?.contains("ThrottlingException") == true, "\(cli.stderr)")
    }

    /// `chat/countTokens` counts what the turn would send (the session's history included) by CountTokens,
    /// under the base id of a profile id; the count is what the chat then reports as its input.
    @Test func countTokensCountsWhatTheTurnWouldSend() async throws {
        let fixture = try Fixture(defaultModel: "us.anthropic.claude-sonnet-4-20250514-v1:0")
        let server = try await fixture.server()
        server.writer.request(1, "chat/stream", ["prompt": "first turn here"])
        let first = try await server.collector.response(id: 1)
        let sessionID = try #require(first["result"]?["sessionId"])
        server.writer.request(2, "chat/countTokens", ["prompt": "second turn", "sessionId": sessionID])
        let count = try await server.collector.response(id: 2)
        let tokens = try #require(count["result"]?["inputTokens"]?.intValue, "\(count.jsonString)")
        #expect(count["result"]?["model"] == "us.anthropic.claude-sonnet-4-20250514-v1:0")
        #expect(count["result"]?["contextWindow"] == 200_000)
        let requests = try fixture.standIn.requests().arrayValue ?? []
        #expect(
            requests.contains {
                $0["path"]?.stringValue?.hasSuffix("anthropic.claude-sonnet-4-20250514-v1%3A0/count-tokens") == true
            })
        server.writer.request(3, "chat/stream", ["prompt": "second turn", "sessionId": sessionID])
        let second = try await server.collector.response(id: 3)
        #expect(second["result"]?["usage"]?["inputTokens"]?.intValue == tokens)
        // Counting stores nothing.
        server.writer.request(4, "session/get", ["sessionId": sessionID])
        #expect(try await server.collector.response(id: 4)["result"]?["session"]?["messageCount"] == 4)

        // A model without CountTokens: an error that says so.
        server.writer.request(5, "chat/countTokens", ["prompt": "x", "model": "amazon.nova-lite-v1:0"])
        let refused = try await server.collector.response(id: 5)
        #expect(refused["error"]?["code"] == -32000)
        #expect(refused["error"]?["data"]?["hint"]?.stringValue?.contains("no CountTokens API") == true)

        let cli = try runContenox(
            ["tokens", "count me", "--session", "last"], home: fixture.home.store, environment: fixture.environment)
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(cli.stdout.contains("input tokens (us.anthropic.claude-sonnet-4-20250514-v1:0 on standin"))
        #expect(cli.stdout.contains("of its 200000-token context window"))
    }

    /// A prompt over the model's context window fails before it is sent or stored, with a hint.
    @Test func aPromptOverTheContextWindowFailsBeforeItIsSent() async throws {
        // A stand-in of its own, so that its request log holds this test's requests only.
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let fixture = try Fixture(standIn: standIn, defaultModel: "anthropic.claude-3-5-sonnet-20241022-v2:0")
        let server = try await fixture.server()
        let before = try fixture.standIn.requests().arrayValue?.count ?? 0
        // The stand-in counts a word a token: 210,000 words are over a 200,000-token window.
        let prompt = String(repeating: "word ", count: 210_000)
        server.writer.request(1, "chat/stream", ["prompt": .string(prompt)])
        let answer = try await server.collector.response(id: 1)
        #expect(answer["error"]?["code"] == -32602, "\(answer.jsonString.prefix(300))")
        #expect(answer["error"]?["data"]?["type"] == "ContextWindowExceeded")
        #expect(answer["error"]?["data"]?["hint"]?.stringValue?.contains("larger window") == true)
        // (The server's warm-up request, `GET /`, opens the connection; it is no model call.)
        let paths = (try fixture.standIn.requests().arrayValue ?? []).dropFirst(before).compactMap {
            $0["path"]?.stringValue
        }.filter { $0.hasPrefix("/model/") }
        #expect(!paths.isEmpty && paths.allSatisfy { $0.hasSuffix("/count-tokens") }, "only counted: \(paths)")
        server.writer.request(2, "session/list")
        #expect(try await server.collector.response(id: 2)["result"]?["sessions"] == [])
    }

    /// A backend's guardrail, latency, tier and metadata go with every chat, a chat's own fields override
    /// them, the echoed settings show in the result's metrics, and a guardrail that blocks says so.
    @Test func backendRequestDefaultsGuardrailsAndTiers() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let fixture = try Fixture(standIn: standIn)
        try fixture.cli([
            "backend", "add", "standin", "--type", "bedrock", "--url", standIn.baseURL, "--region", "us-east-1",
            "--replace", "--guardrail", "gr-team:3", "--guardrail-trace", "--latency", "optimized", "--metadata",
            "team=editors", "--metadata", "app=contenox",
        ])
        let server = try await fixture.server()
        server.writer.request(
            1, "chat/stream",
            [
                "prompt": "hello", "serviceTier": ["type": "priority"], "requestMetadata": ["app": "vim"],
                "additionalModelResponseFieldPaths": ["/stop_sequence"],
            ])
        let answer = try await server.collector.response(id: 1)
        #expect(answer["result"]?["metrics"]?["performanceConfig"] == ["latency": "optimized"], "\(answer.jsonString)")
        #expect(answer["result"]?["metrics"]?["serviceTier"] == ["type": "priority"])
        #expect(answer["result"]?["guardrail"] == nil)
        let sent = try #require(
            try standIn.requests().arrayValue?.last { $0["path"]?.stringValue?.hasSuffix("/converse-stream") == true })
        let body = try JSONValue.parse(sent["body"]?.stringValue ?? "")
        #expect(
            body["guardrailConfig"] == ["guardrailIdentifier": "gr-team", "guardrailVersion": "3", "trace": "enabled"])
        #expect(body["requestMetadata"] == ["team": "editors", "app": "vim"])
        #expect(body["additionalModelResponseFieldPaths"] == ["/stop_sequence"])

        server.writer.request(2, "chat/send", ["prompt": "something bad @@guardrail-block"])
        let blocked = try await server.collector.response(id: 2)
        #expect(blocked["result"]?["stopReason"] == "guardrail_intervened", "\(blocked.jsonString)")
        let summary = blocked["result"]?["guardrail"]?["summary"]?.stringValue ?? ""
        #expect(
            summary.contains("gr-team") && summary.contains("content filter VIOLENCE (HIGH, BLOCKED)"), "\(summary)")
        #expect(blocked["result"]?["guardrail"]?["hint"]?.stringValue?.contains("not the model") == true)

        let cli = try runContenox(
            ["chat", "--ephemeral", "--service-tier", "flex", "again @@guardrail-block"], home: fixture.home.store,
            environment: fixture.environment)
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(cli.stderr.contains("the guardrail gr-team intervened") && cli.stderr.contains("hint:"))
        let bad = try runContenox(
            ["backend", "add", "x", "--type", "bedrock", "--url", "us-east-1", "--latency", "fast"],
            home: fixture.home.store, environment: fixture.environment)
        #expect(bad.status == 1 && bad.stderr.contains("invalid latency 'fast'"))
    }

    /// A reasoning budget maps to the model's own field, and signed reasoning survives a tool round trip and a
    /// third turn: the stand-in refuses, as Bedrock does, a history whose tool-using turn lost its reasoning.
    @Test func thinkingWithToolUseAndAThirdTurn() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let fixture = try Fixture(standIn: standIn, defaultModel: "us.anthropic.claude-sonnet-4-20250514-v1:0")
        let server = try await fixture.server()
        let tools: JSONValue = [
            "tools": [["toolSpec": ["name": "lookup", "inputSchema": ["json": ["type": "object"]]]]]
        ]
        let thinking: JSONValue = ["budgetTokens": 2048]
        server.writer.request(
            1, "chat/stream", ["prompt": "look it up @@tool=lookup", "toolConfig": tools, "thinking": thinking])
        let first = try await server.collector.response(id: 1)
        #expect(first["result"]?["stopReason"] == "tool_use", "\(first.jsonString)")
        let content = first["result"]?["message"]?["content"]?.arrayValue ?? []
        #expect(content.first?["reasoningContent"]?["reasoningText"]?["signature"] == "standin-signature")
        let toolUseIDs = content.compactMap { block in block["toolUse"]?["toolUseId"] }
        let toolUseID = try #require(toolUseIDs.first)
        let sessionID = try #require(first["result"]?["sessionId"])
        let log = (try standIn.requests().arrayValue ?? []).filter {
            $0["path"]?.stringValue?.hasSuffix("/converse-stream") == true
        }
        let sent = try JSONValue.parse(try #require(log.last?["body"]?.stringValue))
        #expect(sent["additionalModelRequestFields"]?["thinking"] == ["type": "enabled", "budget_tokens": 2048])
        #expect(sent["inferenceConfig"]?["maxTokens"] == 6144)

        server.writer.request(
            2, "chat/stream",
            [
                "sessionId": sessionID, "thinking": thinking,
                "content": [["toolResult": ["toolUseId": toolUseID, "content": [["text": "42"]]]]],
            ])
        let second = try await server.collector.response(id: 2)
        #expect(Self.text(of: second["result"]) == "Tool said: 42", "\(second.jsonString)")
        server.writer.request(3, "chat/stream", ["sessionId": sessionID, "prompt": "and then?", "thinking": thinking])
        let third = try await server.collector.response(id: 3)
        #expect(Self.text(of: third["result"]) == "Echo: and then?", "\(third.jsonString)")

        server.writer.request(
            4, "chat/stream", ["prompt": "x", "model": "amazon.nova-lite-v1:0", "thinking": thinking])
        let refused = try await server.collector.response(id: 4)
        #expect(refused["error"]?["code"] == -32602 && refused["error"]?["data"]?["type"] == "ThinkingNotSupported")
    }

    /// The cache planner puts a point after a long system prompt: the first turn writes the cache, the second
    /// reads it, and the counts show in each result, the session's totals and the CLI. A model that refuses
    /// cache points (even the client's own) gets the turn again without them.
    @Test func promptCachingWritesThenReads() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let fixture = try Fixture(standIn: standIn, defaultModel: "us.anthropic.claude-sonnet-4-20250514-v1:0")
        let server = try await fixture.server()
        let system = JSONValue.string(String(repeating: "context ", count: 1500))
        server.writer.request(1, "chat/stream", ["prompt": "first", "system": system])
        let first = try await server.collector.response(id: 1)
        let written = first["result"]?["usage"]?["cacheWriteInputTokens"]?.intValue ?? 0
        #expect(written >= 1500, "\(first["result"]?["usage"] ?? .null)")
        #expect(first["result"]?["usage"]?["cacheReadInputTokens"] == 0)
        let sessionID = try #require(first["result"]?["sessionId"])
        server.writer.request(2, "chat/stream", ["prompt": "second", "system": system, "sessionId": sessionID])
        let second = try await server.collector.response(id: 2)
        #expect((second["result"]?["usage"]?["cacheReadInputTokens"]?.intValue ?? 0) >= written)
        server.writer.request(3, "session/get", ["sessionId": sessionID])
        let totals = try await server.collector.response(id: 3)["result"]?["session"]?["usage"]
        #expect((totals?["cacheReadInputTokens"]?.intValue ?? 0) >= written)
        #expect((totals?["cacheWriteInputTokens"]?.intValue ?? 0) >= written)

        // off: no cache point, so no cache usage.
        server.writer.request(
            4, "chat/stream", ["prompt": "third", "system": system, "cache": "off", "ephemeral": true])
        let off = try await server.collector.response(id: 4)
        #expect(
            off["result"]?["usage"]?["cacheReadInputTokens"] == 0
                && off["result"]?["usage"]?["cacheWriteInputTokens"] == 0)

        // A client's own cache point on a model without caching: refused, then sent again without it.
        server.writer.request(
            5, "chat/stream",
            [
                "model": "meta.llama3-1-70b-instruct-v1:0", "ephemeral": true,
                "content": [["text": "fallback"], ["cachePoint": ["type": "default"]]],
            ])
        let fallback = try await server.collector.response(id: 5)
        #expect(Self.text(of: fallback["result"]) == "Echo: fallback", "\(fallback.jsonString)")

        let cli = try runContenox(
            ["chat", "--session", "last", "--system", system.stringValue ?? "", "fourth"], home: fixture.home.store,
            environment: fixture.environment)
        #expect(cli.status == 0 && cli.stderr.contains("from cache"), "\(cli.stderr)")
    }

    @Test func closingStdinWhileStreamingFinishesTheAnswer() async throws {
        let fixture = try Fixture()
        let server = try await fixture.server()
        server.writer.request(1, "chat/stream", ["prompt": "slow @@tokens=100 @@delay-ms=10"])
        let delta = try await server.collector.next { $0["method"] == "chat/delta" }
        let sessionID = try #require(delta["params"]?["sessionId"]?.stringValue)
        server.closeInput()
        // End of input finishes what was received: the chat streams to its end and is answered.
        let answer = try await server.collector.response(id: 1)
        #expect(answer["result"]?["stopReason"] == "end_turn", "\(answer.jsonString)")
        #expect(try await server.waitForExit(timeout: 20) == 1)
        let store = try Store(path: fixture.home.store + "/contenox.db")
        let messages = try store.messages(sessionID: sessionID)
        #expect(messages.count == 2)
        #expect(messages.last?.status == "complete")
    }

    @Test func closingStdoutWhileStreamingStopsAndKeepsWhatArrived() async throws {
        let fixture = try Fixture()
        let server = try await fixture.server()
        server.writer.request(1, "chat/stream", ["prompt": "slow @@tokens=400 @@delay-ms=10"])
        let delta = try await server.collector.next { $0["method"] == "chat/delta" }
        let sessionID = try #require(delta["params"]?["sessionId"]?.stringValue)
        try await Task.sleep(for: .milliseconds(300))
        // The client is gone: the next write fails, and everything stops at once.
        server.closeOutput()
        #expect(try await server.waitForExit(timeout: 10) == 1)
        let store = try Store(path: fixture.home.store + "/contenox.db")
        let messages = try store.messages(sessionID: sessionID)
        #expect(messages.count == 2)
        #expect(messages.last?.status == "incomplete")
    }
}
