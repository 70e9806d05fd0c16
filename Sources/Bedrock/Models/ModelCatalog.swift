import JSON

/// A model a backend can chat with.
public struct ModelInfo: Sendable, Equatable {
    /// The id to send: a base model id, or for models that cannot run on demand, the inference-profile id
    /// for the backend's geography ("us.anthropic.claude-sonnet-4-20250514-v1:0").
    public var id: String
    public var name: String
    public var provider: String
    public var streaming: Bool
    /// True when the base model runs only through an inference profile (then `id` is the profile id).
    public var requiresInferenceProfile: Bool

    public init(id: String, name: String, provider: String, streaming: Bool = true, requiresInferenceProfile: Bool) {
        self.id = id
        self.name = name
        self.provider = provider
        self.streaming = streaming
        self.requiresInferenceProfile = requiresInferenceProfile
    }

    public var json: JSONValue {
        [
            "id": .string(id), "name": .string(name), "provider": .string(provider), "streaming": .bool(streaming),
            "requiresInferenceProfile": .bool(requiresInferenceProfile),
        ]
    }
}

/// Converse-capable text models, by base id. Which need an inference profile follows the Bedrock console
/// (models released from late 2024 on are served only through cross-region profiles).
public enum ModelCatalog {
    public static let models: [ModelInfo] = [
        .init(
            id: "anthropic.claude-3-5-sonnet-20241022-v2:0", name: "Claude 3.5 Sonnet v2", provider: "Anthropic",
            requiresInferenceProfile: false),
        .init(
            id: "anthropic.claude-3-5-haiku-20241022-v1:0", name: "Claude 3.5 Haiku", provider: "Anthropic",
            requiresInferenceProfile: false),
        .init(
            id: "anthropic.claude-3-haiku-20240307-v1:0", name: "Claude 3 Haiku", provider: "Anthropic",
            requiresInferenceProfile: false),
        .init(
            id: "anthropic.claude-3-7-sonnet-20250219-v1:0", name: "Claude 3.7 Sonnet", provider: "Anthropic",
            requiresInferenceProfile: true),
        .init(
            id: "anthropic.claude-sonnet-4-20250514-v1:0", name: "Claude Sonnet 4", provider: "Anthropic",
            requiresInferenceProfile: true),
        .init(
            id: "anthropic.claude-opus-4-20250514-v1:0", name: "Claude Opus 4", provider: "Anthropic",
            requiresInferenceProfile: true),
        .init(
            id: "anthropic.claude-opus-4-1-20250805-v1:0", name: "Claude Opus 4.1", provider: "Anthropic",
            requiresInferenceProfile: true),
        .init(
            id: "anthropic.claude-sonnet-4-5-20250929-v1:0", name: "Claude Sonnet 4.5", provider: "Anthropic",
            requiresInferenceProfile: true),
        .init(
            id: "anthropic.claude-haiku-4-5-20251001-v1:0", name: "Claude Haiku 4.5", provider: "Anthropic",
            requiresInferenceProfile: true),
        .init(
            id: "meta.llama3-1-70b-instruct-v1:0", name: "Llama 3.1 70B Instruct", provider: "Meta",
            requiresInferenceProfile: false),
        .init(
            id: "meta.llama3-1-8b-instruct-v1:0", name: "Llama 3.1 8B Instruct", provider: "Meta",
            requiresInferenceProfile: false),
        .init(
            id: "meta.llama3-2-1b-instruct-v1:0", name: "Llama 3.2 1B Instruct", provider: "Meta",
            requiresInferenceProfile: true),
        .init(
            id: "meta.llama3-2-3b-instruct-v1:0", name: "Llama 3.2 3B Instruct", provider: "Meta",
            requiresInferenceProfile: true),
        .init(
            id: "meta.llama3-2-11b-instruct-v1:0", name: "Llama 3.2 11B Vision Instruct", provider: "Meta",
            requiresInferenceProfile: true),
        .init(
            id: "meta.llama3-2-90b-instruct-v1:0", name: "Llama 3.2 90B Vision Instruct", provider: "Meta",
            requiresInferenceProfile: true),
        .init(
            id: "meta.llama3-3-70b-instruct-v1:0", name: "Llama 3.3 70B Instruct", provider: "Meta",
            requiresInferenceProfile: true),
        .init(
            id: "meta.llama4-scout-17b-instruct-v1:0", name: "Llama 4 Scout 17B Instruct", provider: "Meta",
            requiresInferenceProfile: true),
        .init(
            id: "meta.llama4-maverick-17b-instruct-v1:0", name: "Llama 4 Maverick 17B Instruct", provider: "Meta",
            requiresInferenceProfile: true),
        .init(
            id: "mistral.mistral-large-2407-v1:0", name: "Mistral Large (24.07)", provider: "Mistral AI",
            requiresInferenceProfile: false),
        .init(
            id: "mistral.mistral-large-2402-v1:0", name: "Mistral Large (24.02)", provider: "Mistral AI",
            requiresInferenceProfile: false),
        .init(
            id: "mistral.mistral-small-2402-v1:0", name: "Mistral Small (24.02)", provider: "Mistral AI",
            requiresInferenceProfile: false),
        .init(
            id: "mistral.pixtral-large-2502-v1:0", name: "Pixtral Large (25.02)", provider: "Mistral AI",
            requiresInferenceProfile: true),
        .init(id: "amazon.nova-pro-v1:0", name: "Nova Pro", provider: "Amazon", requiresInferenceProfile: false),
        .init(id: "amazon.nova-lite-v1:0", name: "Nova Lite", provider: "Amazon", requiresInferenceProfile: false),
        .init(id: "amazon.nova-micro-v1:0", name: "Nova Micro", provider: "Amazon", requiresInferenceProfile: false),
        .init(
            id: "amazon.nova-premier-v1:0", name: "Nova Premier", provider: "Amazon",
            requiresInferenceProfile: true),
    ]

    /// Context windows in tokens, by base id, as the model cards on Bedrock give them.
    static let contextWindows: [String: Int] = [
        "anthropic.claude-3-5-sonnet-20241022-v2:0": 200_000, "anthropic.claude-3-5-sonnet-20240620-v1:0": 200_000,
        "anthropic.claude-3-5-haiku-20241022-v1:0": 200_000, "anthropic.claude-3-haiku-20240307-v1:0": 200_000,
        "anthropic.claude-3-7-sonnet-20250219-v1:0": 200_000, "anthropic.claude-sonnet-4-20250514-v1:0": 200_000,
        "anthropic.claude-opus-4-20250514-v1:0": 200_000, "anthropic.claude-opus-4-1-20250805-v1:0": 200_000,
        "anthropic.claude-sonnet-4-5-20250929-v1:0": 200_000, "anthropic.claude-haiku-4-5-20251001-v1:0": 200_000,
        "meta.llama3-1-70b-instruct-v1:0": 128_000, "meta.llama3-1-8b-instruct-v1:0": 128_000,
        "meta.llama3-2-1b-instruct-v1:0": 128_000, "meta.llama3-2-3b-instruct-v1:0": 128_000,
        "meta.llama3-2-11b-instruct-v1:0": 128_000, "meta.llama3-2-90b-instruct-v1:0": 128_000,
        "meta.llama3-3-70b-instruct-v1:0": 128_000, "meta.llama4-scout-17b-instruct-v1:0": 3_500_000,
        "meta.llama4-maverick-17b-instruct-v1:0": 1_000_000, "mistral.mistral-large-2407-v1:0": 128_000,
        "mistral.mistral-large-2402-v1:0": 32_000, "mistral.mistral-small-2402-v1:0": 32_000,
        "mistral.pixtral-large-2502-v1:0": 128_000, "amazon.nova-pro-v1:0": 300_000,
        "amazon.nova-lite-v1:0": 300_000, "amazon.nova-micro-v1:0": 128_000, "amazon.nova-premier-v1:0": 1_000_000,
    ]

    /// Models with a reasoning budget (Anthropic's extended thinking), by base id.
    static let reasoningModels: Set<String> = [
        "anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic.claude-sonnet-4-20250514-v1:0",
        "anthropic.claude-opus-4-20250514-v1:0", "anthropic.claude-opus-4-1-20250805-v1:0",
        "anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-haiku-4-5-20251001-v1:0",
    ]

    /// The model's own request fields for a reasoning budget of `budget` tokens
    /// (`additionalModelRequestFields`); nil for a model the catalog knows no such setting of.
    public static func reasoningFields(model id: String, budget: Int) -> JSONObject? {
        guard reasoningModels.contains(baseID(id)) else { return nil }
        return ["thinking": ["type": "enabled", "budget_tokens": .int(Int64(budget))]]
    }

    /// Models that cache prompt prefixes, by base id, with the shortest prefix they cache (in tokens).
    static let promptCaching: [String: Int] = [
        "anthropic.claude-3-5-haiku-20241022-v1:0": 2048, "anthropic.claude-3-7-sonnet-20250219-v1:0": 1024,
        "anthropic.claude-sonnet-4-20250514-v1:0": 1024, "anthropic.claude-opus-4-20250514-v1:0": 1024,
        "anthropic.claude-opus-4-1-20250805-v1:0": 1024, "anthropic.claude-sonnet-4-5-20250929-v1:0": 1024,
        "anthropic.claude-haiku-4-5-20251001-v1:0": 2048, "amazon.nova-pro-v1:0": 1024,
        "amazon.nova-lite-v1:0": 1024, "amazon.nova-micro-v1:0": 1024, "amazon.nova-premier-v1:0": 1024,
    ]

    /// The shortest prefix `id` caches, in tokens; nil for a model without prompt caching.
    public static func cacheMinimumTokens(of id: String) -> Int? { promptCaching[baseID(id)] }

    /// A rough token count, about four bytes a token of English text: enough to tell a prefix worth caching
    /// from one that is not, or a prompt far below a context window from one that may be near it.
    public static func estimatedTokens(_ value: JSONValue) -> Int { value.serialized().count / 4 }

    /// The base model id of a cross-region profile id; other ids as they are.
    static func baseID(_ id: String) -> String {
        guard InferenceProfilePrefix.isProfileID(id), !id.hasPrefix("arn:"), let dot = id.firstIndex(of: ".") else {
            return id
        }
        return String(id[id.index(after: dot)...])
    }

    /// A model's context window in tokens, for a base id or a cross-region profile id; nil when unknown.
    public static func contextWindow(of id: String) -> Int? {
        contextWindows[baseID(id)]
    }

    /// The catalog with profile-only models given the profile id for `region`'s geography.
    public static func models(forRegion region: String?) -> [ModelInfo] {
        let prefix = InferenceProfilePrefix.forRegion(region)
        return models.map { model in
            var m = model
            if m.requiresInferenceProfile { m.id = "\(prefix).\(m.id)" }
            return m
        }
    }
}
