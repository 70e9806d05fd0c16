import Bedrock
import Foundation
import JSON
import Synchronization

/// The one service layer behind both faces of contenox: the CLI commands and the JSON-RPC methods call
/// these, so validation and behaviour are written once.
public final class Services: Sendable {
    public let store: Store
    public let environment: [String: String]
    private let clients = Mutex<[String: (BackendSettings, BedrockClient)]>([:])
    private let clientOptions: BedrockClient.Options

    public init(store: Store, environment: [String: String], clientOptions: BedrockClient.Options = .init()) {
        self.store = store
        self.environment = environment
        self.clientOptions = clientOptions
    }

    /// Opens the store at its default location for this environment.
    public convenience init(environment: [String: String]) throws(ServiceError) {
        do {
            self.init(store: try Store(path: Store.defaultPath(environment: environment)), environment: environment)
        } catch {
            throw ServiceError(error)
        }
    }

    /// One client per backend configuration, kept so that connections and credentials are reused;
    /// a changed backend gets a new client.
    func client(for backend: BackendRecord) -> BedrockClient {
        let settings = BackendSettings(
            name: backend.name, url: backend.url, region: backend.region, apiKeyEnv: backend.apiKeyEnv)
        return clients.withLock { cache in
            if let (cached, client) = cache[backend.name], cached == settings { return client }
            let client = BedrockClient(backend: settings, environment: environment, options: clientOptions)
            cache[backend.name] = (settings, client)
            return client
        }
    }

    /// Runs a store call, turning its failure into a ServiceError.
    func stored<T>(_ body: () throws(StoreError) -> T) throws(ServiceError) -> T {
        do {
            return try body()
        } catch {
            throw ServiceError(error)
        }
    }
}
