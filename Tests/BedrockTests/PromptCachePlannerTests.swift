import Bedrock
import JSON
import Testing

/// Where the planner puts cache points: a table of cases, and the rules Bedrock enforces.
@Suite struct PromptCachePlannerTests {
    static let caching = "us.anthropic.claude-sonnet-4-20250514-v1:0"
    static let long = String(repeating: "word ", count: 1500)  // ~1,900 estimated tokens

    static func request(
        model: String = caching, system: String? = nil, tools: Bool = false, history: [String] = [], turn: String = "hi"
    ) -> ConverseRequest {
        var messages: [ConverseMessage] = []
        for (index, text) in history.enumerated() {
            messages.append(.init(role: index % 2 == 0 ? .user : .assistant, content: [.text(text)]))
        }
        messages.append(.init(role: .user, content: [.text(turn)]))
        let toolConfig: JSONValue? =
            tools
            ? ["tools": [["toolSpec": ["name": "t", "description": .string(long), "inputSchema": ["json": [:]]]]]] : nil
        return ConverseRequest(
            modelID: model, messages: messages, system: system.map { [["text": .string($0)]] }, toolConfig: toolConfig)
    }

    static func points(_ request: ConverseRequest) -> [String] {
        var found: [String] = []
        for tool in request.toolConfig?["tools"]?.arrayValue ?? [] where tool["cachePoint"] != nil {
            found.append("tools")
        }
        for block in request.system ?? [] where block["cachePoint"] != nil { found.append("system") }
        for (index, message) in request.messages.enumerated() {
            for block in message.content where block.json["cachePoint"] != nil { found.append("message \(index)") }
        }
        return found
    }

    @Test func shortPromptsGetNoCachePoint() {
        let planned = PromptCachePlanner(policy: .auto).plan(Self.request(system: "be brief", history: ["a", "b"]))
        #expect(Self.points(planned) == [])
    }

    @Test func aLongStableHistoryGetsOnePointAtItsEnd() {
        let planned = PromptCachePlanner(policy: .auto).plan(Self.request(history: [Self.long, "answer"]))
        #expect(Self.points(planned) == ["message 1"])
        #expect(planned.messages[1].content.last?.json == ["cachePoint": ["type": "default"]])
    }

    @Test func toolsAndSystemEachGetAPointWhenTheirPrefixIsLongEnough() {
        let planned = PromptCachePlanner(policy: .auto).plan(
            Self.request(system: "be brief", tools: true, history: ["q", "a"]))
        // The tools alone are long enough; the system prompt's prefix includes them; so does the history's.
        #expect(Self.points(planned) == ["tools", "system", "message 1"])
    }

    @Test func aModelWithoutCachingGetsNone() {
        let planned = PromptCachePlanner(policy: .auto).plan(
            Self.request(model: "meta.llama3-1-70b-instruct-v1:0", system: Self.long, history: [Self.long, "a"]))
        #expect(Self.points(planned) == [])
    }

    @Test func offPlacesNothingAndOneHourSetsTheTTL() {
        let base = Self.request(system: Self.long)
        #expect(Self.points(PromptCachePlanner(policy: .off).plan(base)) == [])
        let planned = PromptCachePlanner(policy: .oneHour).plan(base)
        #expect(planned.system?.last == ["cachePoint": ["type": "default", "ttl": "1h"]])
    }

    @Test func theCallersPointsCountTowardsTheLimit() {
        var request = Self.request(system: Self.long, history: [Self.long, "a"])
        let point = ContentBlock.other(["cachePoint": ["type": "default"]])
        request.messages[0].content += [point, point, point, point]
        // The caller's four are kept and nothing is added.
        #expect(PromptCachePlanner(policy: .auto).plan(request) == request)
        request.messages[0].content.removeLast(2)
        #expect(Self.points(PromptCachePlanner(policy: .auto).plan(request)).count == 4)
    }

    @Test func noPointDirectlyAfterReasoning() {
        var request = Self.request(history: [Self.long, "a"])
        request.messages[1].content = [.text("a"), .reasoning(text: "hm", signature: "s")]
        #expect(Self.points(PromptCachePlanner(policy: .auto).plan(request)) == [])
    }
}
