/// A JSON-RPC error code. Open: any integer is a code, the known ones are static members.
///
/// Backend failures use `backendError` (-32000) and the codes below it.
public struct ErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int

    public init(rawValue: Int) { self.rawValue = rawValue }
    public init(_ rawValue: Int) { self.rawValue = rawValue }

    /// The frame is not valid JSON.
    public static let parseError = ErrorCode(-32700)
    /// The JSON is not a valid request object.
    public static let invalidRequest = ErrorCode(-32600)
    public static let methodNotFound = ErrorCode(-32601)
    public static let invalidParams = ErrorCode(-32602)
    public static let internalError = ErrorCode(-32603)
    /// A request other than `initialize` arrived before `initialize` (LSP's code).
    public static let serverNotInitialized = ErrorCode(-32002)
    /// The request was cancelled with `$/cancelRequest` (LSP's code).
    public static let requestCancelled = ErrorCode(-32800)
    /// A backend (Bedrock) failure; more specific backend codes count down from here.
    public static let backendError = ErrorCode(-32000)

    public var description: String { String(rawValue) }
}
