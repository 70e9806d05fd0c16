import Bedrock
import JSON
import JSONRPC

/// A failure the service layer reports to a person: what went wrong and what to do about it.
/// The CLI prints `message` and `hint`; the server turns it into a JSON-RPC error with `data`.
public struct ServiceError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The caller's input is wrong (-32602).
        case invalidParams
        /// Something named does not exist, or is not configured (-32003).
        case notFound
        /// The name is taken (-32003).
        case conflict
        /// The database failed (-32010).
        case storage
        /// Bedrock or the way to it failed; `bedrock` holds the details (-32000 and below).
        case backend
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
        self.init(.backend, type: error.type, message: error.message, hint: error.hint)
        bedrock = error
    }

    public init(_ error: StoreError) {
        self.init(
            .storage, type: "StorageError", message: error.message,
            hint: "Check that the contenox directory is writable and the disk is not full.")
    }

    public var description: String { hint.isEmpty ? message : "\(message)\nhint: \(hint)" }

    /// `{type, message, httpStatus?, requestId?, retryable, hint}`, the protocol's error data.
    public var data: JSONValue {
        if let bedrock { return bedrock.json }
        return ["type": .string(type), "message": .string(message), "retryable": false, "hint": .string(hint)]
    }

    /// The JSON-RPC error code: -32602 for bad params, -32000 and below for everything else (docs/protocol.md).
    public var code: ErrorCode {
        switch kind {
        case .invalidParams: return .invalidParams
        case .notFound, .conflict: return ErrorCode(-32003)
        case .storage: return ErrorCode(-32010)
        case .backend:
            switch type {
            case "CredentialsNotFound": return ErrorCode(-32001)
            case "BackendNotFound", "ModelNotSet": return ErrorCode(-32003)
            case "ConnectionFailed", "Timeout": return ErrorCode(-32004)
            case "StreamCorrupt": return ErrorCode(-32005)
            default: return .backendError
            }
        }
    }

    public var responseError: ResponseError {
        ResponseError(code: code, message: message, data: data)
    }
}
