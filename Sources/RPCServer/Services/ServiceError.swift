import Bedrock
import JSON

/// A failure the service layer reports to a person: what went wrong and what to do about it. Each surface
/// maps it to its own wire: the CLI prints `message` and `hint`; JSON-RPC and ACP pick a code from `kind`.
public struct ServiceError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Open: a kind is its name; the known ones are static members (those of
    /// `BedrockError.Kind` carry the same names, so a Bedrock failure keeps its kind).
    public struct Kind: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(_ kind: BedrockError.Kind) { self.rawValue = kind.rawValue }

        /// The caller's input is wrong.
        public static let invalidParams = Kind(rawValue: "invalidParams")
        /// Something named does not exist (a backend, a session).
        public static let notFound = Kind(rawValue: "notFound")
        /// The name is taken.
        public static let conflict = Kind(rawValue: "conflict")
        /// The database failed.
        public static let storage = Kind(rawValue: "storage")
        /// Nothing says which backend or model to use, or they are not set up.
        public static let configuration = Kind(rawValue: BedrockError.Kind.configuration.rawValue)
        public static let credentialsNotFound = Kind(BedrockError.Kind.credentialsNotFound)
        public static let credentialsInvalid = Kind(BedrockError.Kind.credentialsInvalid)
        public static let connectionFailed = Kind(BedrockError.Kind.connectionFailed)
        public static let timeout = Kind(BedrockError.Kind.timeout)
        public static let streamCorrupt = Kind(BedrockError.Kind.streamCorrupt)
        /// An error answer from Bedrock (AccessDenied, Validation, Throttling, ...).
        public static let service = Kind(BedrockError.Kind.service)
        public static let validation = Kind(BedrockError.Kind.validation)
        public static let expiredCredentials = Kind(BedrockError.Kind.expiredCredentials)
        public static let invalidRequest = Kind(BedrockError.Kind.invalidRequest)
        public static let invalidResponse = Kind(BedrockError.Kind.invalidResponse)
        public static let cancelled = Kind(BedrockError.Kind.cancelled)

        public var description: String { rawValue }
    }

    public var kind: Kind
    /// `BackendNotFound`, `ModelNotSet`, `InvalidBackendName`, ... or the AWS error type.
    public var type: String
    public var message: String
    public var hint: String
    public var bedrock: BedrockError?

    public init(_ kind: Kind, type: String, message: String, hint: String = "") {
        self.kind = kind
        self.type = type
        self.message = message
        self.hint = hint
    }

    public init(_ error: BedrockError) {
        self.init(Kind(error.kind), type: error.type, message: error.message, hint: error.hint)
        bedrock = error
    }

    public init(_ error: StoreError) {
        self.init(
            .storage, type: "StorageError", message: error.message,
            hint: "Check that the contenox directory is writable and the disk is not full.")
    }

    public var description: String { hint.isEmpty ? message : "\(message)\nhint: \(hint)" }

    /// `{type, message, httpStatus?, requestId?, retryable, hint}`: what every surface shows of a failure.
    public var data: JSONValue {
        if let bedrock { return bedrock.json }
        return ["type": .string(type), "message": .string(message), "retryable": false, "hint": .string(hint)]
    }
}
