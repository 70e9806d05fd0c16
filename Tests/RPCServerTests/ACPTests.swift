import Bedrock
import JSON
import JSONRPC
import RPCServer
import Testing

struct ACPMappingTests {
    static let pdf = "JVBERi0xLjQK"

    @Test(arguments: [
        (#"{"type":"text","text":"hi"}"#, ACPMapping.PromptPart.content(.text("hi"))),
        (
            #"{"type":"image","data":"AAAA","mimeType":"image/png"}"#,
            .content(.image(["format": "png", "source": ["bytes": "AAAA"]]))
        ),
        (
            #"{"type":"resource","resource":{"uri":"file:///a/b.py","text":"x = 1"}}"#,
            .content(.text("Contents of file:///a/b.py:\n```\nx = 1\n```"))
        ),
        (
            #"{"type":"resource","resource":{"uri":"file:///d/spec v2.final.pdf","blob":"\#(pdf)","mimeType":"application/pdf"}}"#,
            .content(.document(["format": "pdf", "name": "spec-v2", "source": ["bytes": .string(pdf)]]))
        ),
        (
            #"{"type":"resource","resource":{"uri":"file:///i.webp","blob":"AAAA","mimeType":"image/webp"}}"#,
            .content(.image(["format": "webp", "source": ["bytes": "AAAA"]]))
        ),
        (
            #"{"type":"resource","resource":{"uri":"file:///x.bin","blob":"AAAA","mimeType":"application/zip"}}"#,
            .content(.text("(attached file:///x.bin, of type application/zip, which the model cannot read)"))
        ),
        (#"{"type":"resource_link","uri":"https://x.org/a","name":"a"}"#, .link(uri: "https://x.org/a", name: "a")),
    ])
    func promptBlocksBecomeConverseContent(json: String, expected: ACPMapping.PromptPart) throws {
        #expect(try ACPMapping.promptPart(JSONValue.parse(Array(json.utf8))) == expected)
    }

    @Test(arguments: [
        #"{"type":"audio","data":"AAAA","mimeType":"audio/wav"}"#,
        #"{"type":"image","data":"AAAA","mimeType":"image/tiff"}"#,
        #"{"type":"text"}"#,
        #"{"type":"resource","resource":{"uri":"file:///a"}}"#,
    ])
    func unreadableBlocksAreInvalidParams(json: String) throws {
        let block = try JSONValue.parse(Array(json.utf8))
        #expect(throws: ResponseError.self) { try ACPMapping.promptPart(block) }
        do {
            _ = try ACPMapping.promptPart(block)
        } catch {
            #expect(error.code == .invalidParams)
        }
    }

    @Test(arguments: [
        ("end_turn", "end_turn"), ("stop_sequence", "end_turn"), ("max_tokens", "max_tokens"),
        ("model_context_window_exceeded", "max_tokens"), ("guardrail_intervened", "refusal"),
        ("content_filtered", "refusal"),
    ])
    func stopReasons(bedrock: String, acp: String) {
        #expect(ACPMapping.stopReason(bedrock) == acp)
    }

    @Test(
        arguments: [
            ("notes.txt", "/p", "/p/notes.txt"), ("./a/../b.txt", "/p", "/p/b.txt"), ("/p/x", "/p", "/p/x"),
            ("/p", "/p/", "/p"), ("a", "/", "/a"), ("../p2/x", "/p", nil), ("/etc/passwd", "/p", nil),
            ("/p2/x", "/p", nil), ("a/../../x", "/p", nil), ("../../..", "/", nil),
        ] as [(String, String, String?)])
    func pathsResolveInsideTheSessionDirectoryOnly(path: String, cwd: String, expected: String?) {
        #expect(ACPMapping.resolve(path, in: cwd) == expected)
    }

    @Test func usageIsSummedOverTheModelCallsOfAPrompt() {
        let usage = ACPMapping.usage([
            ["inputTokens": 10, "outputTokens": 2, "totalTokens": 12],
            ["inputTokens": 20, "outputTokens": 3, "totalTokens": 23, "cacheReadInputTokens": 7],
        ])
        #expect(
            usage == ["inputTokens": 30, "outputTokens": 5, "totalTokens": 35, "cachedReadTokens": 7])
    }

    @Test func storedTurnsReplayAsSessionUpdates() {
        let user = ACPMapping.replay(
            role: "user",
            content: [
                ["text": "hi"], ["toolResult": ["toolUseId": "t1", "content": [["text": "x"]], "status": "error"]],
            ])
        #expect(
            user == [
                ["sessionUpdate": "user_message_chunk", "content": ["type": "text", "text": "hi"]],
                ["sessionUpdate": "tool_call_update", "toolCallId": "t1", "status": "failed"],
            ])
        let assistant = ACPMapping.replay(
            role: "assistant",
            content: [
                ["reasoningContent": ["reasoningText": ["text": "hm", "signature": "s"]]], ["text": "yes"],
                ["toolUse": ["toolUseId": "t2", "name": "read_file", "input": ["path": "/p/a"]]],
            ])
        #expect(assistant.map { $0["sessionUpdate"] } == ["agent_thought_chunk", "agent_message_chunk", "tool_call"])
        #expect(assistant[2]["kind"] == "read" && assistant[2]["title"] == "Read /p/a")
    }

    @Test func toolsFollowTheClientsCapabilities() {
        #expect(ACPTools.toolConfig(canRead: false, canWrite: false) == nil)
        let names = { (config: JSONValue?) in config?["tools"]?.arrayValue?.map { $0["toolSpec"]?["name"] } }
        #expect(names(ACPTools.toolConfig(canRead: true, canWrite: false)) == ["read_file"])
        #expect(names(ACPTools.toolConfig(canRead: true, canWrite: true)) == ["read_file", "write_file"])
    }
}

/// The dispatcher's ACP lifecycle and its requests to the client, in memory.
struct ACPDispatcherTests {
    let connection = InMemoryConnection(framing: .ndjson)
    let dispatcher: Dispatcher

    init() {
        var table = MethodTable()
        // Asks the client to echo its params and answers what the client said.
        table.register("test/ask") { params, context throws(ResponseError) in
            try await context.request("client/echo", .object(params.object))
        }
        table.register("initialize") { _, _ throws(ResponseError) in ["protocolVersion": 1] }
        var configuration = Dispatcher.Configuration()
        configuration.lifecycle = .acp
        configuration.drainTimeout = 0.5
        dispatcher = Dispatcher(
            methods: table, configuration: configuration, logger: Logger(level: .error), output: connection)
        connection.attach(dispatcher)
    }

    func send(_ text: String) { connection.feed(Array((text + "\n").utf8)) }

    @Test func aClientResponseAnswersTheRequestThatAsked() async throws {
        send(#"{"jsonrpc":"2.0","id":0,"method":"test/ask","params":{"n":1}}"#)
        send(#"{"jsonrpc":"2.0","id":1,"method":"test/ask","params":{"n":2}}"#)
        let asked = await connection.messages(count: 2, timeout: 10)
        #expect(Set(asked.compactMap { $0["params"]?["n"] }) == [1, 2])
        #expect(Set(asked.compactMap { $0["id"] }) == [0, 1])
        // Answered in the other order, and once with an id nobody asked (ignored).
        for message in asked.reversed() {
            let id = message["id"]!.jsonString
            send(#"{"jsonrpc":"2.0","id":\#(id),"result":{"echo":\#(message["params"]!["n"]!.jsonString)}}"#)
        }
        send(#"{"jsonrpc":"2.0","id":99,"result":{}}"#)
        let all = await connection.messages(count: 4, timeout: 10)
        let answers = all.dropFirst(2)
        #expect(Set(answers.map { $0["id"] }) == [0, 1])
        for answer in answers {
            #expect(answer["result"]?["echo"] == answer["id"].map { $0.intValue! + 1 }.map(JSONValue.int))
        }
    }

    @Test func thereIsNoLSPLifecycleAndEndOfInputCancelsAndExitsZero() async throws {
        // No -32002 before initialize; shutdown is not a method.
        send(#"{"jsonrpc":"2.0","id":"s","method":"shutdown"}"#)
        send(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#)
        send(#"{"jsonrpc":"2.0","id":1,"method":"test/ask","params":{}}"#)
        let messages = await connection.messages(count: 3, timeout: 10)
        #expect(messages.first { $0["id"] == "s" }?["error"]?["code"] == -32601)
        #expect(messages.first { $0["id"] == 0 }?["result"] == ["protocolVersion": 1])
        #expect(messages.contains { $0["method"] == "client/echo" })
        // The client never answers: the end of input fails the waiting request and finishes at once.
        let started = ContinuousClock.now
        dispatcher.endOfInput()
        #expect(await dispatcher.wait() == 0)
        #expect(ContinuousClock.now - started < .seconds(2))
    }
}
