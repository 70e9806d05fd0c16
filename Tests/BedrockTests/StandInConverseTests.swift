import Foundation
import JSON
import TestSupport
import Testing

@testable import Bedrock

/// Converse, ConverseStream, models and failures against the stand-in (static keys unless said otherwise).
@Suite struct StandInConverseTests {
    struct FailCase: Sendable, CustomStringConvertible {
        var directive: String
        var type: String
        var status: Int
        var retryable: Bool
        var hint: String
        var description: String { directive }
    }

    static let failCases: [FailCase] = [
        .init(
            directive: "access-denied", type: "AccessDeniedException", status: 403, retryable: false,
            hint: "Model access"),
        .init(
            directive: "on-demand", type: "ValidationException", status: 400, retryable: false,
            hint: "Use an inference profile id"),
        .init(directive: "throttle", type: "ThrottlingException", status: 429, retryable: true, hint: "quota"),
        .init(
            directive: "unrecognized-client", type: "UnrecognizedClientException", status: 403, retryable: false,
            hint: "region"),
        .init(
            directive: "expired-token", type: "ExpiredTokenException", status: 403, retryable: false,
            hint: "aws sso login"),
        .init(
            directive: "invalid-signature", type: "InvalidSignatureException", status: 403, retryable: false,
            hint: "region"),
        .init(directive: "validation", type: "ValidationException", status: 400, retryable: false, hint: "model id"),
        .init(
            directive: "internal", type: "InternalServerException", status: 500, retryable: true,
            hint: "request id"),
        .init(
            directive: "service-unavailable", type: "ServiceUnavailableException", status: 503, retryable: true,
            hint: "retry"),
        .init(
            directive: "model-not-ready", type: "ModelNotReadyException", status: 429, retryable: true,
            hint: "retry"),
        .init(
            directive: "model-timeout", type: "ModelTimeoutException", status: 408, retryable: false,
            hint: "shorter prompt"),
        .init(
            directive: "resource-not-found", type: "ResourceNotFoundException", status: 404, retryable: false,
            hint: "model id"),
    ]

    @Test(arguments: failCases)
    func failMapping(c: FailCase) async throws {
        let standIn = try StandIn.shared()
        let client = StandInSupport.client(standIn)
        do {
            _ = try await client.converse(StandInSupport.request("hi @@fail=\(c.directive)"))
            Issue.record("expected \(c.type)")
        } catch {
            #expect(error.type == c.type)
            #expect(error.httpStatus == c.status)
            #expect(error.retryable == c.retryable)
            #expect(error.hint.localizedCaseInsensitiveContains(c.hint), "\(error.hint)")
            #expect(error.requestID?.isEmpty == false)
        }
        let streamed = await StandInSupport.collect(
            client.converseStream(StandInSupport.request("hi @@fail=\(c.directive)")))
        #expect(streamed.events.isEmpty)
        #expect(streamed.error?.type == c.type)
        #expect(streamed.error?.hint.localizedCaseInsensitiveContains(c.hint) == true)
    }

    @Test func throttleOnceIsRetriedAndSucceeds() async throws {
        let standIn = try StandIn.shared()
        let client = StandInSupport.client(standIn)
        let key = StandInSupport.uniqueKey()
        let response = try await client.converse(StandInSupport.request("again @@throttle-once=\(key)"))
        #expect(response.message.content == [.text("Echo: again")])

        let streamKey = StandInSupport.uniqueKey()
        let streamed = await StandInSupport.collect(
            client.converseStream(StandInSupport.request("again @@unavailable-once=\(streamKey)")))
        #expect(streamed.error == nil)
        #expect(streamed.text == "Echo: again")

        let paths = try standIn.requests().arrayValue?.compactMap { $0["body"]?.stringValue } ?? []
        #expect(paths.filter { $0.contains(key) }.count == 2, "one throttled attempt, one retry")
    }

    @Test func nonRetryableIsNotRetried() async throws {
        let standIn = try StandIn.shared()
        let client = StandInSupport.client(standIn)
        let marker = StandInSupport.uniqueKey()
        await #expect(throws: BedrockError.self) {
            try await client.converse(StandInSupport.request("m\(marker) @@fail=access-denied"))
        }
        let bodies = try standIn.requests().arrayValue?.compactMap { $0["body"]?.stringValue } ?? []
        #expect(bodies.filter { $0.contains("m\(marker)") }.count == 1)
    }

    @Test func alwaysThrottledGivesUpAfterThreeAttempts() async throws {
        let standIn = try StandIn.shared()
        let client = StandInSupport.client(standIn)
        let marker = StandInSupport.uniqueKey()
        await #expect(throws: BedrockError.self) {
            try await client.converse(StandInSupport.request("m\(marker) @@fail=throttle"))
        }
        let bodies = try standIn.requests().arrayValue?.compactMap { $0["body"]?.stringValue } ?? []
        #expect(bodies.filter { $0.contains("m\(marker)") }.count == 3)
    }

    @Test func streamTokensArriveAsDeltas() async throws {
        let standIn = try StandIn.shared()
        let streamed = await StandInSupport.collect(
            StandInSupport.client(standIn).converseStream(StandInSupport.request("count @@tokens=25")))
        #expect(streamed.error == nil)
        #expect(streamed.deltaCount == 25)
        #expect(streamed.events.first == .messageStart(role: "assistant"))
        #expect(streamed.assembler.usage?["outputTokens"] != nil)
    }

    /// Back-pressure: a consumer that stops taking events holds about `StreamFlow.pauseBytes` of them
    /// (the transfer pauses), not the whole answer, and gets every token once it reads on.
    @Test func aConsumerThatFallsBehindPausesTheTransfer() async throws {
        let standIn = try StandIn.shared()
        let stream = StandInSupport.client(standIn).converseStream(StandInSupport.request("x @@tokens=200000"))
        var batches = stream.batches.makeAsyncIterator()
        var tokens = 0
        func count(_ batch: [ConverseStreamEvent]) {
            for case .textDelta(_, " tok") in batch { tokens += 1 }
        }
        count(try #require(try await batches.next()))
        // Until the untaken events reach the pause threshold (how long that takes depends on the machine),
        // then for as long again as the transfer would need to run on past it if it had not paused.
        let deadline = ContinuousClock.now + TestScale.time(.seconds(20))
        while stream.batches.flow.pendingBytes < StreamFlow.pauseBytes, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: TestScale.time(.milliseconds(800)))
        // 200,000 events are about 20 MB; one more chunk than the limit may have been decoded.
        let held = stream.batches.flow.pendingBytes
        #expect(held >= StreamFlow.pauseBytes)
        #expect(held < StreamFlow.pauseBytes + (256 << 10))
        while let batch = try await batches.next() { count(batch) }
        #expect(tokens == 200_000)
    }

    @Test func streamException() async throws {
        let standIn = try StandIn.shared()
        let streamed = await StandInSupport.collect(
            StandInSupport.client(standIn).converseStream(StandInSupport.request("x @@tokens=10 @@stream-exception=3")))
        #expect(streamed.deltaCount == 3)
        #expect(streamed.error?.type == "modelStreamErrorException")
        #expect(streamed.error?.retryable == false)
        #expect(streamed.error?.hint.isEmpty == false)
    }

    @Test func badCRCIsStreamCorrupt() async throws {
        let standIn = try StandIn.shared()
        let streamed = await StandInSupport.collect(
            StandInSupport.client(standIn).converseStream(StandInSupport.request("x @@tokens=10 @@bad-crc-after=2")))
        #expect(streamed.error?.type == "StreamCorrupt")
        #expect(streamed.deltaCount >= 1 && streamed.deltaCount <= 2)
    }

    @Test func garbageIsStreamCorrupt() async throws {
        let standIn = try StandIn.shared()
        let streamed = await StandInSupport.collect(
            StandInSupport.client(standIn).converseStream(StandInSupport.request("x @@tokens=10 @@garbage-after=2")))
        #expect(streamed.error?.type == "StreamCorrupt")
    }

    /// How long a fault may take to end the stream. It must only tell "ended by the fault" from what
    /// would happen otherwise: the idle timeout for a cut or reset (twice this, `faultClient`), the end of
    /// a stall (twice this too) for the stall tests. Each test takes about a second alone; with the whole suite running beside it
    /// on 2 cores its stand-in (a Python process) gets a small share of them, and 5 s was seen to be
    /// missed by a second.
    static let faultBound = TestScale.time(.seconds(15))
    /// A client whose idle timeout is twice the bound, so that a cut or reset met only by the idle timeout
    /// would miss the bound, under the sanitizers' time factor too.
    static func faultClient(_ standIn: StandIn) -> BedrockClient {
        StandInSupport.client(standIn, options: StandInSupport.options(idleTimeout: TestScale.seconds(30)))
    }

    @Test func cutConnectionIsATypedError() async throws {
        let standIn = try StandIn.start()  // its own: the time bound must not include other tests' load
        defer { standIn.stop() }
        let start = ContinuousClock.now
        let streamed = await StandInSupport.collect(
            Self.faultClient(standIn).converseStream(StandInSupport.request("x @@tokens=10 @@cut-after=3")))
        #expect(ContinuousClock.now - start < Self.faultBound)
        #expect(streamed.deltaCount == 3)
        #expect(
            streamed.error?.type == "ConnectionFailed" || streamed.error?.type == "StreamCorrupt",
            "\(String(describing: streamed.error))")
    }

    /// A TCP reset mid-stream (not a clean close): what arrived before it is kept, the error says reset.
    @Test func resetConnectionIsATypedError() async throws {
        let standIn = try StandIn.start()  // its own, as for the cut: the time bound must not include others' load
        defer { standIn.stop() }
        let start = ContinuousClock.now
        let streamed = await StandInSupport.collect(
            Self.faultClient(standIn).converseStream(StandInSupport.request("x @@tokens=10 @@reset-after=3")))
        #expect(ContinuousClock.now - start < Self.faultBound)
        #expect(streamed.deltaCount == 3)
        #expect(streamed.error?.type == "ConnectionFailed")
        #expect(streamed.error?.message.localizedCaseInsensitiveContains("reset") == true, "\(streamed.error!)")
        #expect(streamed.error?.hint.isEmpty == false)
    }

    @Test func garbageInsteadOfAnAnswerIsConnectionFailed() async throws {
        let standIn = try StandIn.shared()
        let client = StandInSupport.client(standIn, options: StandInSupport.options(maxAttempts: 1))
        do {
            _ = try await client.converse(StandInSupport.request("x @@garbage-reply"))
            Issue.record("expected ConnectionFailed")
        } catch {
            #expect(error.type == "ConnectionFailed")
        }
        let streamed = await StandInSupport.collect(client.converseStream(StandInSupport.request("x @@garbage-reply")))
        #expect(streamed.events.isEmpty)
        #expect(streamed.error?.type == "ConnectionFailed")
    }

    // The stall tests use a stand-in of their own: on the shared one, other tests' load (the stand-in is one
    // Python process) delayed them by seconds. The stall is twice the bound (both scaled by TestScale), so
    // passing proves the idle timeout fired rather than the stall ending.
    static let stallMilliseconds = 2 * TestScale.milliseconds(15000)
    @Test func stallBeyondIdleTimeoutIsTimeout() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        // The timeout bounds the silence of a whole request, retries included, so it must outlast a loaded
        // stand-in's first delta (it did not when a retry hid it); a fresh stand-in's first answer also waits
        // for its signature checker to load.
        let client = StandInSupport.client(
            standIn, options: StandInSupport.options(idleTimeout: TestScale.seconds(3)))
        _ = await StandInSupport.collect(client.converseStream(StandInSupport.request("warm up")))
        let start = ContinuousClock.now
        let streamed = await StandInSupport.collect(
            client.converseStream(
                StandInSupport.request("x @@tokens=5 @@stall-ms=\(Self.stallMilliseconds)")))
        #expect(ContinuousClock.now - start < Self.faultBound)
        #expect(streamed.error?.type == "Timeout")
        #expect(streamed.deltaCount >= 1)
    }

    /// The idle timeout bounds a request's silence as a whole: a silent endpoint is not asked again and
    /// again, each attempt waiting the whole timeout (before, a 1 s timeout took 5.8 s with retries).
    @Test func aSilentEndpointIsNotRetriedPastTheIdleTimeout() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let client = StandInSupport.client(standIn, options: StandInSupport.options(idleTimeout: 0.5, maxAttempts: 3))
        _ = await StandInSupport.collect(client.converseStream(StandInSupport.request("warm up")))
        let before = try standIn.requests().arrayValue?.count ?? 0
        let streamed = await StandInSupport.collect(
            client.converseStream(StandInSupport.request("silent @@stall-before-ms=\(Self.stallMilliseconds)")))
        #expect(streamed.error?.type == "Timeout")
        let after = try standIn.requests().arrayValue?.count ?? 0
        #expect(after - before == 1, "one attempt: the silence used up the timeout")
    }

    @Test func stallBeforeHeadersIsTimeout() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let client = StandInSupport.client(
            standIn, options: StandInSupport.options(idleTimeout: 0.4, maxAttempts: 1))
        let start = ContinuousClock.now
        do {
            _ = try await client.converse(
                StandInSupport.request("x @@stall-before-ms=\(Self.stallMilliseconds)"))
            Issue.record("expected Timeout")
        } catch {
            #expect(error.type == "Timeout")
        }
        #expect(ContinuousClock.now - start < Self.faultBound)
    }

    /// Cancelling returns within 100 ms. On 2 shared cores with the whole suite running in parallel, one
    /// attempt can miss by scheduling alone, so the fastest of up to three attempts must make it and
    /// none may take a second (bounds times TestScale.timeFactor).
    @Test func cancellingTheConsumerAbortsTheTransfer() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let client = StandInSupport.client(standIn)
        var fastest = Duration.seconds(60)
        for _ in 0..<3 where fastest >= TestScale.time(.milliseconds(100)) {
            let before = try standIn.stats()["clientDisconnects"]?.intValue ?? 0
            let firstDelta = AsyncStream.makeStream(of: Void.self)
            let consumer = Task {
                var deltas = 0
                for try await event in client.converseStream(
                    StandInSupport.request("slow @@tokens=500 @@delay-ms=50"))
                {
                    if event.contentDelta != nil {
                        deltas += 1
                        if deltas == 1 { firstDelta.continuation.yield() }
                    }
                }
                return deltas
            }
            for await _ in firstDelta.stream { break }
            let cancelledAt = ContinuousClock.now
            consumer.cancel()
            let deltas = try? await consumer.value
            let elapsed = ContinuousClock.now - cancelledAt
            fastest = min(fastest, elapsed)
            #expect(elapsed < TestScale.time(.seconds(1)), "took \(elapsed)")
            #expect((deltas ?? 0) < 500)

            var disconnects = before
            for _ in 0..<40 where disconnects <= before {
                try await Task.sleep(for: .milliseconds(50))
                disconnects = try standIn.stats()["clientDisconnects"]?.intValue ?? 0
            }
            #expect(disconnects > before, "the stand-in saw the client go away")
        }
        #expect(fastest < TestScale.time(.milliseconds(100)), "fastest cancel took \(fastest)")
    }

    @Test func droppingTheStreamAbortsTheTransfer() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let client = StandInSupport.client(standIn)
        do {
            let stream = client.converseStream(StandInSupport.request("slow @@tokens=500 @@delay-ms=50"))
            var iterator = stream.makeAsyncIterator()
            _ = try await iterator.next()
        }
        var active: Int64 = 1
        for _ in 0..<40 where active > 0 {
            try await Task.sleep(for: .milliseconds(50))
            active = try standIn.stats()["active"]?.intValue ?? 1
        }
        #expect(active == 0)
    }

    @Test func thirtyTwoConcurrentStreams() async throws {
        let standIn = try StandIn.shared()
        let client = StandInSupport.client(standIn)
        let results = await withTaskGroup(of: StandInSupport.Collected.self) { group in
            for i in 0..<32 {
                group.addTask {
                    await StandInSupport.collect(
                        client.converseStream(StandInSupport.request("n\(i) @@tokens=20 @@delay-ms=5")))
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 32)
        for r in results {
            #expect(r.error == nil)
            #expect(r.deltaCount == 20)
            #expect(r.assembler.stopReason == "end_turn")
        }
    }

    @Test(arguments: ["lookup", "web.search"])
    func toolUseRoundTrip(toolName: String) async throws {
        let standIn = try StandIn.shared()
        let client = StandInSupport.client(standIn)
        let toolConfig: JSONValue = [
            "tools": [
                [
                    "toolSpec": [
                        "name": .string(toolName), "description": "looks things up",
                        "inputSchema": ["json": ["type": "object", "properties": ["query": ["type": "string"]]]],
                    ]
                ]
            ]
        ]
        var request = StandInSupport.request("find cats")
        request.toolConfig = toolConfig
        let wireName = request.toolNames.bedrockName(toolName)
        request.messages[0].content = [.text("find cats @@tool=\(wireName)")]

        let streamed = await StandInSupport.collect(client.converseStream(request))
        #expect(streamed.error == nil)
        #expect(streamed.assembler.stopReason == "tool_use")
        let toolUse = streamed.assembler.message.content.compactMap { block -> (String, String, JSONValue)? in
            if case .toolUse(let id, let name, let input) = block { return (id, name, input) }
            return nil
        }.first
        #expect(toolUse?.1 == toolName)
        #expect(toolUse?.2 == ["query": "find cats"])

        guard let toolUse else { return }
        request.messages.append(streamed.assembler.message)
        request.messages.append(
            ConverseMessage(
                role: .user,
                content: [.toolResult(["toolUseId": .string(toolUse.0), "content": [["text": "42 cats"]]])]))
        let answer = try await client.converse(request)
        #expect(answer.message.content == [.text("Tool said: 42 cats")])

        // Non-streaming tool use maps the name back too.
        var direct = StandInSupport.request("find dogs @@tool=\(wireName)")
        direct.toolConfig = toolConfig
        let response = try await client.converse(direct)
        #expect(response.stopReason == "tool_use")
        #expect(response.message.content.contains { if case .toolUse(_, toolName, _) = $0 { true } else { false } })
    }

    @Test func reasoningThroughAssembler() async throws {
        let standIn = try StandIn.shared()
        let streamed = await StandInSupport.collect(
            StandInSupport.client(standIn).converseStream(StandInSupport.request("think @@reasoning")))
        #expect(streamed.error == nil)
        let content = streamed.assembler.message.content
        guard case .reasoning(let text, let signature)? = content.first else {
            Issue.record("expected a reasoning block first, got \(content)")
            return
        }
        #expect(!text.isEmpty)
        #expect(signature?.isEmpty == false)
        #expect(content.contains(.text("Echo: think")))
    }

    @Test func bigEvent() async throws {
        let standIn = try StandIn.shared()
        let streamed = await StandInSupport.collect(
            StandInSupport.client(standIn).converseStream(StandInSupport.request("big @@big-event=300000")))
        #expect(streamed.error == nil)
        #expect(streamed.text.utf8.count >= 300_000)
    }

    @Test(arguments: [
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "eu.anthropic.claude-sonnet-4-20250514-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "anthropic.claude-3-5-sonnet-20241022-v2:0", "amazon.nova-lite-v1:0",
    ])
    func modelIDsWithColonsAndARNs(model: String) async throws {
        let standIn = try StandIn.shared()
        let client = StandInSupport.client(standIn)
        let response = try await client.converse(StandInSupport.request("id test", model: model))
        #expect(response.message.content == [.text("Echo: id test")])
        let streamed = await StandInSupport.collect(
            client.converseStream(StandInSupport.request("id test", model: model)))
        #expect(streamed.error == nil)
        #expect(streamed.text == "Echo: id test")
    }

    @Test func profileOnlyModelSuggestsProfileID() async throws {
        let standIn = try StandIn.shared()
        do {
            _ = try await StandInSupport.client(standIn).converse(
                StandInSupport.request("hi", model: "anthropic.claude-3-7-sonnet-20250219-v1:0"))
            Issue.record("expected ValidationException")
        } catch {
            #expect(error.type == "ValidationException")
            #expect(error.hint.contains("us.anthropic.claude-3-7-sonnet-20250219-v1:0"))
        }
        do {
            _ = try await StandInSupport.client(standIn).converse(
                StandInSupport.request("hi", model: "anthropic.claude-3-opus-20240229-v1:0"))
            Issue.record("expected AccessDeniedException")
        } catch {
            #expect(error.type == "AccessDeniedException")
            #expect(error.hint.contains("Model access"))
        }
    }

    @Test func listModelsLiveAndCatalog() async throws {
        let standIn = try StandIn.start()  // its own: other tests' requests must not show up in the count
        defer { standIn.stop() }
        let client = StandInSupport.client(standIn)
        let live = try await client.listModels(live: true)
        #expect(!live.isEmpty)
        #expect(live.contains { $0.id == "amazon.nova-pro-v1:0" && !$0.requiresInferenceProfile })
        for model in live where model.requiresInferenceProfile {
            #expect(InferenceProfilePrefix.isProfileID(model.id), "\(model.id)")
        }
        // Cached: the second call sends nothing.
        let countBefore = try standIn.requests().arrayValue?.count ?? 0
        let again = try await client.listModels(live: true)
        #expect(again == live)
        let countAfter = try standIn.requests().arrayValue?.count ?? 0
        #expect(countAfter == countBefore || countBefore >= 100)

        let catalog = try await client.listModels(live: false)
        #expect(catalog.contains { $0.id == "us.anthropic.claude-sonnet-4-20250514-v1:0" })
    }

    /// The account's application inference profiles are listed live, by ARN, and chat like any model; so do
    /// `global.` cross-region profile ids.
    @Test func applicationProfilesAndGlobalProfilesAreModels() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let client = StandInSupport.client(standIn)
        let live = try await client.listModels(live: true)
        let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/contenoxteam01"
        let profile = try #require(live.first { $0.id == arn }, "\(live.map(\.id))")
        #expect(profile.name == "Team Claude" && profile.provider == "Application profile")
        #expect(live.filter { $0.id.contains("application-inference-profile") }.count == 1)
        for model in [arn, "global.anthropic.claude-sonnet-4-20250514-v1:0"] {
            let streamed = await StandInSupport.collect(
                client.converseStream(
                    ConverseRequest(modelID: model, messages: [.init(role: .user, content: [.text("hi")])])))
            #expect(streamed.error == nil, "\(model): \(String(describing: streamed.error))")
            #expect(streamed.text == "Echo: hi")
        }
    }

    @Test func requestHeadersOnTheWire() async throws {
        let standIn = try StandIn.shared()
        let marker = StandInSupport.uniqueKey()
        _ = try await StandInSupport.client(standIn).converse(StandInSupport.request("h\(marker)"))
        let bearerEnv = StandInSupport.environment(
            ["AWS_BEARER_TOKEN_BEDROCK": StandIn.Identity.bedrockAPIKey], keys: false)
        _ = try await StandInSupport.client(standIn, environment: bearerEnv).converse(
            StandInSupport.request("b\(marker)"))
        let requests = try standIn.requests().arrayValue ?? []
        func headers(_ text: String) -> [String: String] {
            guard let entry = requests.last(where: { $0["body"]?.stringValue?.contains(text) == true }),
                let object = entry["headers"]?.objectValue
            else { return [:] }
            var out: [String: String] = [:]
            for (k, v) in object { out[k.lowercased()] = v.stringValue ?? "" }
            return out
        }
        let signed = headers("h\(marker)")
        #expect(signed["content-type"] == "application/json")
        #expect(signed["x-amz-date"] != nil)
        #expect(signed["expect"] == nil)
        let bearer = headers("b\(marker)")
        #expect(bearer["x-amz-date"] == nil)
        #expect(bearer["authorization"] != nil)
    }
}
