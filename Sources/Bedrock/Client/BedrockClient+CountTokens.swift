import JSON

extension BedrockClient {
    /// How many input tokens `request` (its messages, system prompt and tools) comes to, by Bedrock's
    /// CountTokens (`POST /model/{modelId}/count-tokens`), which costs nothing. CountTokens takes base model
    /// ids only, so an inference-profile id is counted under its base model (`us.anthropic...` →
    /// `anthropic...`: the same model, so the same count); a model without the API answers a validation error
    /// whose hint says so.
    public func countTokens(_ request: ConverseRequest) async throws(BedrockError) -> Int {
        let endpoint = try endpoint()
        let region = try region()
        let modelID = Self.countingModelID(request.modelID)
        var converse: JSONObject = [:]
        let body = request.bodyJSON
        for key in ["messages", "system", "toolConfig"] {
            if let value = body[key] { converse[key] = value }
        }
        let payload: JSONValue = ["input": ["converse": .object(converse)]]
        let response = try await send(
            method: "POST", baseURL: endpoint.runtimeURL, host: endpoint.host,
            path: "/model/\(SigV4.percentEncodePathSegment(modelID))/count-tokens", query: "",
            body: payload.serialized(), region: region, modelID: modelID)
        guard let json = try? JSONValue.parse(response.body), let tokens = json["inputTokens"]?.intValue else {
            throw BedrockError.own("InvalidResponse", "The CountTokens answer has no inputTokens")
        }
        return Int(tokens)
    }

    /// The id CountTokens accepts for a model: a cross-region profile id without its geography prefix.
    static func countingModelID(_ id: String) -> String { ModelCatalog.baseID(id) }
}
