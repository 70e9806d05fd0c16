import Basics
import JSON

/// The `error` member of a JSON-RPC response.
public struct ResponseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var data: JSONValue?

    public init(code: ErrorCode, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    /// Reads an error object as a client sent it. Lenient, because the server only
    /// ever ignores responses: a missing or mistyped `code` becomes -32603 and a
    /// missing `message` the empty string.
    public init(json: JSONValue) {
        let code = json["code"]?.intValue.flatMap { Int(exactly: $0) } ?? ErrorCode.internalError.rawValue
        self.init(code: ErrorCode(code), message: json["message"]?.stringValue ?? "", data: json["data"])
    }

    /// `{"code": .., "message": .., "data": ..}`, `data` only when there is one.
    public var json: JSONValue {
        var object: JSONObject = ["code": .int(Int64(code.rawValue)), "message": .string(message)]
        if let data { object["data"] = data }
        return .object(object)
    }

    public var description: String { "\(message) (\(code.rawValue))" }
}

extension ResponseError {
    public static func parseError(_ message: String, data: JSONValue? = nil) -> ResponseError {
        ResponseError(code: .parseError, message: message, data: data)
    }

    public static func invalidRequest(_ message: String, data: JSONValue? = nil) -> ResponseError {
        ResponseError(code: .invalidRequest, message: message, data: data)
    }

    public static func methodNotFound(_ message: String, data: JSONValue? = nil) -> ResponseError {
        ResponseError(code: .methodNotFound, message: message, data: data)
    }

    /// `method not found: <method>`.
    public static func methodNotFound(method: String) -> ResponseError {
        ResponseError(code: .methodNotFound, message: "method not found: \(method.quoted())")
    }

    public static func invalidParams(_ message: String, data: JSONValue? = nil) -> ResponseError {
        ResponseError(code: .invalidParams, message: message, data: data)
    }

    public static func internalError(_ message: String, data: JSONValue? = nil) -> ResponseError {
        ResponseError(code: .internalError, message: message, data: data)
    }

    public static func serverNotInitialized(_ message: String = "server not initialized") -> ResponseError {
        ResponseError(code: .serverNotInitialized, message: message)
    }

    public static func requestCancelled(_ message: String = "request cancelled") -> ResponseError {
        ResponseError(code: .requestCancelled, message: message)
    }

    /// A backend failure; `data` carries `{type, message, httpStatus?, requestId?, retryable, hint}`.
    public static func backendError(
        _ message: String, data: JSONValue? = nil, code: ErrorCode = .backendError
    ) -> ResponseError {
        ResponseError(code: code, message: message, data: data)
    }
}
