import Bedrock
import JSON

/// A model a backend can chat with, as `models/list` and `contenox model list` show it.
public struct ModelEntry: Sendable, Equatable {
    public var model: ModelInfo
    public var backend: String
    /// It is the configured `default-model`.
    public var isDefault: Bool
}

extension Services {
    /// Models a backend can chat with: the curated catalog, or with `live` what the backend's control
    /// plane lists (profile-only models mapped to their regional profile id). The default model is marked.
    public func models(backend name: String?, live: Bool) async throws(ServiceError) -> [ModelEntry] {
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
        return models.map { ModelEntry(model: $0, backend: backend.name, isDefault: $0.id == defaultModel) }
    }
}
