import Bedrock
import JSON

extension Services {
    public static let supportedBackendTypes = ["bedrock"]

    /// Adds (or with `replace`, replaces) a backend after checking every field.
    ///
    /// The region is taken from the URL's host, or the URL itself when it is a bare region, else from
    /// `region`; when none of them gives one it is left unset and resolved from AWS_REGION /
    /// AWS_DEFAULT_REGION / the profile when a request is made. `apiKeyEnv` is stored as a name only.
    public func addBackend(
        name: String, type: String, url: String, apiKeyEnv: String?, region: String?, replace: Bool,
        options: BackendRequestOptions = .init()
    ) throws(ServiceError) -> BackendRecord {
        guard Self.isValidName(name) else {
            throw ServiceError(
                .invalidParams, type: "InvalidBackendName",
                message: "invalid backend name \(name.quoted()): use 1 to 64 letters, digits, '.', '_' or '-'")
        }
        guard Self.supportedBackendTypes.contains(type) else {
            throw ServiceError(
                .invalidParams, type: "UnsupportedBackendType",
                message: "unsupported backend type '\(type)'; supported types: "
                    + Self.supportedBackendTypes.joined(separator: ", "),
                hint: "Use --type bedrock.")
        }
        let endpoint: BedrockEndpoint
        do {
            endpoint = try BedrockEndpoint.parse(url)
        } catch {
            throw ServiceError(.invalidParams, type: "InvalidURL", message: error.message, hint: error.hint)
        }
        if let region, !BedrockEndpoint.isValidRegion(region) {
            throw ServiceError(
                .invalidParams, type: "InvalidRegion", message: "invalid region \(region.quoted())",
                hint: "Give a region such as us-east-1, eu-central-1 or ap-southeast-2.")
        }
        if let apiKeyEnv, !Self.isValidEnvironmentName(apiKeyEnv) {
            throw ServiceError(
                .invalidParams, type: "InvalidApiKeyEnv",
                message: "invalid --api-key-env \(apiKeyEnv.quoted()): give the NAME of an environment variable",
                hint: "For example --api-key-env AWS_BEDROCK_CREDS, with the JSON keys in that variable.")
        }
        let record = BackendRecord(
            name: name, type: type, url: url, region: endpoint.region ?? region, apiKeyEnv: apiKeyEnv,
            requestDefaults: try options.fields())
        let added = try stored { () throws(StoreError) in try store.addBackend(record, replace: replace) }
        guard added else {
            throw ServiceError(
                .conflict, type: "BackendExists", message: "a backend named \(name.quoted()) already exists",
                hint: "Add --replace (replace: true) to overwrite it, or choose another name.")
        }
        return record
    }

    public func backends() throws(ServiceError) -> [BackendRecord] {
        try stored { () throws(StoreError) in try store.backends() }
    }

    public func backend(named name: String) throws(ServiceError) -> BackendRecord {
        guard let backend = try stored({ () throws(StoreError) in try store.backend(named: name) }) else {
            throw Self.backendNotFound(name, known: (try? backends().map(\.name)) ?? [])
        }
        return backend
    }

    public func removeBackend(named name: String) throws(ServiceError) {
        guard try stored({ () throws(StoreError) in try store.removeBackend(named: name) }) else {
            throw Self.backendNotFound(name, known: (try? backends().map(\.name)) ?? [])
        }
    }

    /// The region a backend's requests will use now, as its client resolves it (its own, the URL's,
    /// AWS_REGION / AWS_DEFAULT_REGION, the profile's); nil when none is set.
    public func effectiveRegion(_ backend: BackendRecord) -> String? {
        try? client(for: backend).region()
    }

    /// Resolves credentials and region and makes one cheap signed call; problems come with hints.
    public func checkBackend(named name: String?) async throws(ServiceError) -> (BackendRecord, BackendCheck) {
        let backend = try resolveBackend(name)
        return (backend, await client(for: backend).check())
    }

    /// The backend named, else `default-provider`, else the only backend there is.
    func resolveBackend(_ name: String?) throws(ServiceError) -> BackendRecord {
        if let name { return try backend(named: name) }
        if let configured = try stored({ () throws(StoreError) in try store.setting("default-provider") }) {
            return try backend(named: configured)
        }
        let all = try backends()
        if all.count == 1 { return all[0] }
        throw ServiceError(
            .notFound, type: "BackendNotFound",
            message: all.isEmpty ? "no backend is configured" : "no default backend is set",
            hint: all.isEmpty
                ? "Add one: `contenox backend add bedrock --type bedrock --url us-east-1`"
                : "Run: `contenox config set default-provider NAME` (one of: \(all.map(\.name).joined(separator: ", ")))"
        )
    }

    static func backendNotFound(_ name: String, known: [String]) -> ServiceError {
        ServiceError(
            .notFound, type: "BackendNotFound", message: "no backend named \(name.quoted())",
            hint: known.isEmpty
                ? "Add it: `contenox backend add NAME --type bedrock --url us-east-1`"
                : "Known backends: \(known.joined(separator: ", ")). Add one with `contenox backend add NAME --type bedrock --url REGION`."
        )
    }

    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    return true
                default: return false
                }
            }
    }

    static func isValidEnvironmentName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return name.utf8.count <= 255
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                    return true
                default: return false
                }
            }
    }
}
