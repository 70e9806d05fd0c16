import JSON
import Testing

@testable import Bedrock

@Suite struct ConverseTypesTests {
    @Test(
        arguments: [
            ["text": "hi"],
            ["image": ["format": "png", "source": ["bytes": "iVBORw0KGgo="]]],
            ["document": ["format": "pdf", "name": "doc", "source": ["bytes": "JVBERi0xLjQ="]]],
            ["toolUse": ["toolUseId": "t1", "name": "search", "input": ["q": "x"]]],
            ["toolResult": ["toolUseId": "t1", "content": [["text": "r"]], "status": "success"]],
            ["reasoningContent": ["reasoningText": ["text": "think", "signature": "sig"]]],
            ["reasoningContent": ["redactedContent": "AAAA"]],
            ["cachePoint": ["type": "default"]],
        ] as [JSONValue])
    func contentBlockRoundTrip(json: JSONValue) throws {
        #expect(try ContentBlock(json: json).json == json)
    }

    @Test(
        arguments: [
            "text" as JSONValue, ["text": 3], ["image": ["format": "png", "source": ["bytes": "not base64!"]]],
            ["image": ["source": ["bytes": "AAAA"]]], ["toolUse": ["name": "x"]], ["toolResult": [:]], [:],
        ] as [JSONValue])
    func contentBlockRejects(json: JSONValue) {
        #expect(throws: BedrockError.self) { try ContentBlock(json: json) }
    }

    @Test func messageJSON() throws {
        let json: JSONValue = ["role": "user", "content": [["text": "a"]]]
        let message = try ConverseMessage(json: json)
        #expect(message == ConverseMessage(role: .user, content: [.text("a")]))
        #expect(message.json == json)
        #expect(throws: BedrockError.self) { try ConverseMessage(json: ["role": "system", "content": []]) }
    }

    @Test func bodyMergesSameRoleAndOmitsAbsentFields() {
        let request = ConverseRequest(
            modelID: "m",
            messages: [
                .init(role: .user, content: [.text("a")]), .init(role: .user, content: [.text("b")]),
                .init(role: .assistant, content: [.text("c")]), .init(role: .user, content: [.text("d")]),
            ], system: [["text": "be brief"]], inferenceConfig: ["maxTokens": 10])
        let expected: JSONValue = [
            "messages": [
                ["role": "user", "content": [["text": "a"], ["text": "b"]]],
                ["role": "assistant", "content": [["text": "c"]]],
                ["role": "user", "content": [["text": "d"]]],
            ],
            "system": [["text": "be brief"]], "inferenceConfig": ["maxTokens": 10],
        ]
        #expect(request.bodyJSON == expected)
        #expect(ConverseRequest(modelID: "m", messages: []).bodyJSON == ["messages": []])
    }

    @Test func toolNamesMadeValidAndMappedBack() {
        let long = String(repeating: "x", count: 70)
        let request = ConverseRequest(
            modelID: "m",
            messages: [
                .init(role: .user, content: [.text("q")]),
                .init(role: .assistant, content: [.toolUse(id: "t", name: "web.search", input: [:])]),
            ],
            toolConfig: [
                "tools": [
                    ["toolSpec": ["name": "web.search", "inputSchema": ["json": [:]]]],
                    ["toolSpec": ["name": "web_search", "inputSchema": ["json": [:]]]],
                    ["toolSpec": ["name": .string(long), "inputSchema": ["json": [:]]]],
                    ["toolSpec": ["name": "ok-name_1", "inputSchema": ["json": [:]]]],
                ],
                "toolChoice": ["tool": ["name": "web.search"]],
            ])
        let names = request.toolNames
        let mapped = ["web.search", "web_search", long, "ok-name_1"].map { names.bedrockName($0) }
        #expect(Set(mapped).count == 4)
        for name in mapped {
            #expect(name.count <= 64 && !name.isEmpty)
            #expect(name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        }
        #expect(names.bedrockName("ok-name_1") == "ok-name_1")
        for original in ["web.search", "web_search", long] {
            #expect(names.originalName(names.bedrockName(original)) == original)
        }
        let body = request.bodyJSON
        #expect(body["toolConfig"]?["tools"]?[0]?["toolSpec"]?["name"]?.stringValue == names.bedrockName("web.search"))
        #expect(body["toolConfig"]?["toolChoice"]?["tool"]?["name"]?.stringValue == names.bedrockName("web.search"))
        #expect(
            body["messages"]?[1]?["content"]?[0]?["toolUse"]?["name"]?.stringValue
                == names.bedrockName("web.search"))
        let start = ConverseStreamEvent.contentBlockStart(
            index: 0, start: ["toolUse": ["toolUseId": "t", "name": .string(names.bedrockName("web.search"))]])
        #expect(
            names.incoming(start)
                == .contentBlockStart(index: 0, start: ["toolUse": ["toolUseId": "t", "name": "web.search"]]))
    }

    static func event(_ type: String, _ payload: String) -> EventStreamMessage {
        EventStreamMessage(
            headers: [
                EventStreamHeader(name: ":message-type", value: .string("event")),
                EventStreamHeader(name: ":event-type", value: .string(type)),
                EventStreamHeader(name: ":content-type", value: .string("application/json")),
            ], payload: Array(payload.utf8))
    }

    /// The fast path (a view of the bytes, parseSmall) and the copying path (jansson) give the same event,
    /// or the same error, for every kind of delta payload.
    @Test(arguments: [
        #"{"contentBlockIndex":0,"delta":{"text":" tok"},"p":"abcdefghijklmnopqrstuvwxyz0123"}"#,
        #"{"contentBlockIndex":7,"delta":{"text":"a\nb \"c\" \u00e9 \ud83d\ude00 é"}}"#,
        #"{ "p" : "x" , "delta" : { "text" : "" } , "contentBlockIndex" : 3 }"#,
        #"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"q\": 1}"}}}"#,
        #"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hm","signature":"s"}}}"#,
        #"{"contentBlockIndex":0,"delta":{"text":"x","citation":{}}}"#,
        #"{"contentBlockIndex":0,"delta":{"text":"x"},"p":1.5}"#,
        #"{"contentBlockIndex":0.0,"delta":{"text":"x"}}"#,
        #"{"contentBlockIndex":-1,"delta":{"text":"x"}}"#,
        #"{"contentBlockIndex":0,"delta":{"text":"x"},"delta":{"text":"y"}}"#,
        #"{"delta":{"text":"x"}}"#, #"{"contentBlockIndex":0}"#, #"{"contentBlockIndex":0,"delta":{"text":"x"}"#,
        "[]", "not json",
    ])
    func viewAndCopyDecodeAlike(payload: String) throws {
        let message = Self.event("contentBlockDelta", payload)
        let copied = Result { () throws(BedrockError) in try ConverseStreamEvent.decode(message) }
        var viewed: Result<ConverseStreamEvent?, BedrockError>?
        var decoder = EventStreamDecoder()
        _ = try EventStreamEncoder.encode(message).withUnsafeBytes { raw in
            try decoder.feed(raw) { view in
                viewed = Result { () throws(BedrockError) in try ConverseStreamEvent.decode(view) }
                return true
            }
        }
        #expect(viewed.map { "\($0)" } == "\(copied)")
    }

    @Test func decodesEvents() throws {
        #expect(
            try ConverseStreamEvent.decode(Self.event("messageStart", #"{"role":"assistant","p":"abc"}"#))
                == .messageStart(role: "assistant"))
        #expect(
            try ConverseStreamEvent.decode(
                Self.event(
                    "contentBlockDelta",
                    #"{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"x"}"#))
                == .textDelta(index: 0, text: "Hi"))
        #expect(
            try ConverseStreamEvent.decode(
                Self.event(
                    "contentBlockStart",
                    #"{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t","name":"n"}}}"#))
                == .contentBlockStart(index: 1, start: ["toolUse": ["toolUseId": "t", "name": "n"]]))
        #expect(
            try ConverseStreamEvent.decode(Self.event("contentBlockStop", #"{"contentBlockIndex":1}"#))
                == .contentBlockStop(index: 1))
        #expect(
            try ConverseStreamEvent.decode(Self.event("messageStop", #"{"stopReason":"end_turn"}"#))
                == .messageStop(stopReason: "end_turn", additionalModelResponseFields: nil))
        #expect(
            try ConverseStreamEvent.decode(
                Self.event(
                    "metadata",
                    #"{"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3},"metrics":{"latencyMs":5}}"#))
                == .metadata(usage: ["inputTokens": 1, "outputTokens": 2, "totalTokens": 3], metrics: ["latencyMs": 5]))
        #expect(try ConverseStreamEvent.decode(Self.event("someFutureEvent", "{}")) == nil)
        #expect(throws: BedrockError.self) {
            try ConverseStreamEvent.decode(Self.event("contentBlockDelta", "not json"))
        }
    }

    @Test func decodesExceptionsAndErrors() {
        let exception = EventStreamMessage(
            headers: [
                EventStreamHeader(name: ":message-type", value: .string("exception")),
                EventStreamHeader(name: ":exception-type", value: .string("throttlingException")),
            ], payload: Array(#"{"message":"Too many tokens"}"#.utf8))
        do {
            _ = try ConverseStreamEvent.decode(exception, requestID: "rid")
            Issue.record("expected a throw")
        } catch {
            #expect(error.type == "throttlingException")
            #expect(error.message == "Too many tokens")
            #expect(error.retryable)
            #expect(error.requestID == "rid")
        }
        let streamError = EventStreamMessage(
            headers: [
                EventStreamHeader(name: ":message-type", value: .string("error")),
                EventStreamHeader(name: ":error-code", value: .string("InternalFailure")),
                EventStreamHeader(name: ":error-message", value: .string("oops")),
            ], payload: [])
        do {
            _ = try ConverseStreamEvent.decode(streamError)
            Issue.record("expected a throw")
        } catch {
            #expect(error.type == "InternalFailure")
            #expect(error.message == "oops")
        }
    }

    @Test func assemblerFoldsTextToolUseAndReasoning() {
        var assembler = StreamAssembler()
        let events: [ConverseStreamEvent] = [
            .messageStart(role: "assistant"),
            .contentBlockDelta(index: 0, delta: ["reasoningContent": ["text": "Let me "]]),
            .contentBlockDelta(index: 0, delta: ["reasoningContent": ["text": "think."]]),
            .contentBlockDelta(index: 0, delta: ["reasoningContent": ["signature": "SIG"]]),
            .contentBlockStop(index: 0),
            .contentBlockDelta(index: 1, delta: ["text": "Hello"]),
            .contentBlockDelta(index: 1, delta: ["text": " world"]),
            .contentBlockStop(index: 1),
            .contentBlockStart(index: 2, start: ["toolUse": ["toolUseId": "t1", "name": "search"]]),
            .contentBlockDelta(index: 2, delta: ["toolUse": ["input": "{\"query\": "]]),
            .contentBlockDelta(index: 2, delta: ["toolUse": ["input": "\"cats\"}"]]),
            .contentBlockStop(index: 2),
            .contentBlockStart(index: 3, start: ["toolUse": ["toolUseId": "t2", "name": "noargs"]]),
            .contentBlockStop(index: 3),
            .messageStop(stopReason: "tool_use", additionalModelResponseFields: nil),
            .metadata(usage: ["inputTokens": 3], metrics: ["latencyMs": 9]),
        ]
        for e in events { assembler.apply(e) }
        #expect(
            assembler.message
                == ConverseMessage(
                    role: .assistant,
                    content: [
                        .reasoning(text: "Let me think.", signature: "SIG"), .text("Hello world"),
                        .toolUse(id: "t1", name: "search", input: ["query": "cats"]),
                        .toolUse(id: "t2", name: "noargs", input: [:]),
                    ]))
        #expect(assembler.stopReason == "tool_use")
        #expect(assembler.usage == ["inputTokens": 3])
        #expect(assembler.metrics == ["latencyMs": 9])
    }

    @Test func assemblerOnPartialStream() {
        var assembler = StreamAssembler()
        assembler.apply(.messageStart(role: "assistant"))
        assembler.apply(.contentBlockDelta(index: 0, delta: ["text": "Partial"]))
        assembler.apply(.contentBlockStart(index: 1, start: ["toolUse": ["toolUseId": "t", "name": "n"]]))
        assembler.apply(.contentBlockDelta(index: 1, delta: ["toolUse": ["input": "{\"a\":"]]))
        #expect(assembler.message.content == [.text("Partial"), .toolUse(id: "t", name: "n", input: [:])])
        #expect(assembler.stopReason == nil)
    }

    @Test func converseResponseFromJSON() throws {
        let json: JSONValue = [
            "output": ["message": ["role": "assistant", "content": [["text": "Echo: hi"]]]], "stopReason": "end_turn",
            "usage": ["inputTokens": 1, "outputTokens": 2, "totalTokens": 3], "metrics": ["latencyMs": 4],
        ]
        let response = try ConverseResponse(json: json, requestID: "r")
        #expect(response.message.content == [.text("Echo: hi")])
        #expect(response.stopReason == "end_turn")
        #expect(response.usage["totalTokens"] == 3)
        #expect(response.requestID == "r")
        #expect(throws: BedrockError.self) { try ConverseResponse(json: ["nope": 1]) }
    }
}

@Suite struct ModelCatalogTests {
    @Test func catalogHasSeedAndCurrentModels() {
        let ids = Set(ModelCatalog.models.map(\.id))
        for id in [
            "anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-3-5-haiku-20241022-v1:0",
            "meta.llama3-1-70b-instruct-v1:0", "mistral.mistral-large-2407-v1:0", "amazon.nova-pro-v1:0",
            "amazon.nova-lite-v1:0", "anthropic.claude-3-7-sonnet-20250219-v1:0",
            "anthropic.claude-sonnet-4-20250514-v1:0",
            "anthropic.claude-opus-4-20250514-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-haiku-4-5-20251001-v1:0", "meta.llama3-3-70b-instruct-v1:0", "amazon.nova-micro-v1:0",
            "amazon.nova-premier-v1:0",
        ] {
            #expect(ids.contains(id), "\(id)")
        }
        let eu = ModelCatalog.models(forRegion: "eu-west-1")
        #expect(eu.contains { $0.id == "eu.anthropic.claude-sonnet-4-20250514-v1:0" && $0.requiresInferenceProfile })
        #expect(eu.contains { $0.id == "amazon.nova-pro-v1:0" && !$0.requiresInferenceProfile })
    }

    @Test func liveMapping() {
        let summaries: [JSONValue] = [
            [
                "modelId": "amazon.nova-pro-v1:0", "modelName": "Nova Pro", "providerName": "Amazon",
                "outputModalities": ["TEXT"], "inferenceTypesSupported": ["ON_DEMAND"],
                "responseStreamingSupported": true,
            ],
            [
                "modelId": "anthropic.claude-sonnet-4-20250514-v1:0", "modelName": "Claude Sonnet 4",
                "providerName": "Anthropic", "outputModalities": ["TEXT"],
                "inferenceTypesSupported": ["INFERENCE_PROFILE"],
            ],
            [
                "modelId": "anthropic.claude-3-5-sonnet-20241022-v2:0:200k", "outputModalities": ["TEXT"],
                "inferenceTypesSupported": ["PROVISIONED"],
            ],
            [
                "modelId": "amazon.titan-embed-text-v2:0", "outputModalities": ["EMBEDDING"],
                "inferenceTypesSupported": ["ON_DEMAND"],
            ],
        ]
        let models = BedrockClient.liveModels(
            summaries: summaries,
            profileIDs: ["us.anthropic.claude-sonnet-4-20250514-v1:0", "apac.anthropic.claude-sonnet-4-20250514-v1:0"],
            region: "ap-southeast-2")
        #expect(models.map(\.id) == ["amazon.nova-pro-v1:0", "apac.anthropic.claude-sonnet-4-20250514-v1:0"])
        #expect(models[1].requiresInferenceProfile)
        #expect(models[1].provider == "Anthropic")
    }
}
