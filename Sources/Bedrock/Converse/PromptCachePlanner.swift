import JSON

/// Places Bedrock prompt-cache points (`{"cachePoint": {"type": "default", "ttl"?}}`) where they pay: after
/// the tools, after the system prompt, and at the end of the history that the next turn will send again
/// (everything before the new user message). A point is placed only where the prefix it closes is long
/// enough for the model to cache (shorter prefixes are accepted but not cached, so a point there is
/// noise), never past the model's limit of four per request counting the ones the caller sent, never
/// directly after a reasoning block, with TTLs that do not increase from tools to system to messages, and
/// only for models the catalog knows to cache.
public struct PromptCachePlanner: Sendable {
    /// `auto` (5-minute points), `oneHour` (1-hour points), or `off`.
    public enum Policy: String, Sendable, CaseIterable {
        case auto
        case off
        case oneHour = "1h"
    }

    public static let maxPoints = 4

    public var policy: Policy

    public init(policy: Policy) { self.policy = policy }

    /// `request` with cache points added (unchanged with `off`, for a model without caching, or when the
    /// caller's own points use up the limit).
    public func plan(_ request: ConverseRequest) -> ConverseRequest {
        guard policy != .off, let minimum = ModelCatalog.cacheMinimumTokens(of: request.modelID) else { return request }
        var planned = request
        var budget = Self.maxPoints - Self.existingPoints(request)
        guard budget > 0 else { return request }
        let point: JSONValue = [
            "cachePoint": policy == .oneHour ? ["type": "default", "ttl": "1h"] : ["type": "default"]
        ]
        var prefix = 0

        if case .object(var tools)? = planned.toolConfig, case .array(var list)? = tools["tools"], !list.isEmpty {
            prefix += ModelCatalog.estimatedTokens(.array(list))
            if prefix >= minimum, !Self.endsWithPoint(list) {
                list.append(point)
                tools["tools"] = .array(list)
                planned.toolConfig = .object(tools)
                budget -= 1
            }
        }
        if var system = planned.system, !system.isEmpty {
            prefix += ModelCatalog.estimatedTokens(.array(system))
            if budget > 0, prefix >= minimum, !Self.endsWithPoint(system) {
                system.append(point)
                planned.system = system
                budget -= 1
            }
        }
        // The stable history: every message before the new turn (the last message).
        if budget > 0, planned.messages.count >= 2 {
            let last = planned.messages.count - 2
            prefix += planned.messages[...last].reduce(0) { $0 + ModelCatalog.estimatedTokens($1.json) }
            let content = planned.messages[last].content
            let afterReasoning: Bool
            switch content.last {
            case .reasoning?, .redactedReasoning?: afterReasoning = true
            default: afterReasoning = false
            }
            if prefix >= minimum, !afterReasoning, !Self.endsWithPoint(content.map(\.json)) {
                planned.messages[last].content.append(.other(point))
            }
        }
        return planned
    }

    /// `request` without any cache point (the caller's too): what is sent again when a model refuses them.
    public static func withoutCachePoints(_ request: ConverseRequest) -> ConverseRequest {
        var stripped = request
        if case .object(var tools)? = stripped.toolConfig, case .array(let list)? = tools["tools"] {
            tools["tools"] = .array(list.filter { $0["cachePoint"] == nil })
            stripped.toolConfig = .object(tools)
        }
        stripped.system = stripped.system?.filter { $0["cachePoint"] == nil }
        for index in stripped.messages.indices {
            stripped.messages[index].content.removeAll { $0.json["cachePoint"] != nil }
        }
        return stripped
    }

    /// Cache points the caller put in the request itself.
    public static func existingPoints(_ request: ConverseRequest) -> Int {
        let tools = request.toolConfig?["tools"]?.arrayValue ?? []
        let system = request.system ?? []
        let blocks = request.messages.flatMap { $0.content.map(\.json) }
        return (tools + system + blocks).filter { $0["cachePoint"] != nil }.count
    }

    private static func endsWithPoint(_ blocks: [JSONValue]) -> Bool { blocks.last?["cachePoint"] != nil }
}
