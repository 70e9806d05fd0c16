import Bedrock
import JSON
import Locking

/// The one service layer behind both faces of contenox: the CLI commands and the JSON-RPC methods call
/// these, so validation and behaviour are written once.
public final class Services: Sendable {
    /// Where the database lives; it is opened on first use, so `initialize` and `version` never wait for it.
    public let storePath: String
    public let environment: [String: String]
    private let openedStore: LockedValue<Store?>
    private let clients = LockedValue<[String: (BackendSettings, BedrockClient)]>([:])
    private let clientOptions: BedrockClient.Options
    let turns = SessionTurns()

    public init(store: Store, environment: [String: String], clientOptions: BedrockClient.Options = .init()) {
        self.storePath = store.path
        self.openedStore = LockedValue(store)
        self.environment = environment
        self.clientOptions = clientOptions
    }

    /// Uses the store at its default location for this environment, opening it when first needed.
    public init(environment: [String: String], clientOptions: BedrockClient.Options = .init()) {
        self.storePath = Store.defaultPath(environment: environment)
        self.openedStore = LockedValue(nil)
        self.environment = environment
        self.clientOptions = clientOptions
    }

    /// The store, opened (and migrated) on first use.
    public var store: Store {
        get throws(StoreError) {
            try openedStore.withLock { opened throws(StoreError) -> Store in
                if let opened { return opened }
                let store = try Store(path: storePath)
                opened = store
                return store
            }
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
