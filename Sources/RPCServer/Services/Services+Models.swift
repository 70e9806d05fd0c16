import Bedrock
import JSON

extension Services {
    /// Models a backend can chat with: the curated catalog, or with `live` what the backend's control
    /// plane lists (profile-only models mapped to their regional profile id). The default model is marked.
    public func models(backend name: String?, live: Bool) async throws(ServiceError) -> [JSONValue] {
        let backend = try resolveBackend(name)
        let models: [ModelInfo]
        if live {
            do {
                models = try await client(for: backend).listModels(live: true)
            } catch {
                throw ServiceError(error)
            }
        } else {
            models = ModelCatalog.models(forRegion: effectiveRegion(backend))
        }
        let defaultModel = try config("default-model")
        return models.map { model in
            var object = model.json.objectValue ?? [:]
            object["backend"] = .string(backend.name)
            if model.id == defaultModel { object["default"] = true }
            return .object(object)
        }
    }
}
