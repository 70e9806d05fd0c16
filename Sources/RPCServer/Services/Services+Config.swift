import Basics
import JSON

extension Services {
    /// The configuration keys there are, with what each means.
    public static let configKeys: [(key: String, meaning: String)] = [
        ("default-model", "the model or inference-profile id used when a chat names none"),
        ("default-provider", "the backend used when a chat names none"),
    ]

    static var configKeyList: String { configKeys.map(\.key).joined(separator: ", ") }

    public func config() throws(ServiceError) -> [(key: String, value: String)] {
        try stored { () throws(StoreError) in try store.settings() }.filter { entry in
            Self.configKeys.contains { $0.key == entry.key }
        }
    }

    public func config(_ key: String) throws(ServiceError) -> String? {
        try Self.checkKey(key)
        return try stored { () throws(StoreError) in try store.setting(key) }
    }

    /// Sets a key; an empty value removes it. `default-provider` must name a backend that exists.
    public func setConfig(_ key: String, _ value: String) throws(ServiceError) {
        try Self.checkKey(key)
        let trimmed = value.trimmingWhitespace()
        if key == "default-provider", !trimmed.isEmpty {
            _ = try backend(named: trimmed)
        }
        if key == "default-model", trimmed.contains(where: \.isWhitespace) {
            throw ServiceError(
                .invalidParams, type: "InvalidModel",
                message: "invalid model id \(value.quoted()): ids contain no spaces",
                hint: "See `contenox model list` for ids.")
        }
        try stored { () throws(StoreError) in try store.setSetting(key, trimmed.isEmpty ? nil : trimmed) }
    }

    private static func checkKey(_ key: String) throws(ServiceError) {
        guard configKeys.contains(where: { $0.key == key }) else {
            throw ServiceError(
                .invalidParams, type: "UnknownConfigKey",
                message: "unknown config key \(key.quoted()); valid keys: \(configKeyList)",
                hint: configKeys.map { "\($0.key): \($0.meaning)" }.joined(separator: "; "))
        }
    }
}
