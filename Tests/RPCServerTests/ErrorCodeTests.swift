import Bedrock
import JSONRPC
import RPCServer
import Testing

/// One case per kind of failure: the JSON-RPC code comes from the kind, through the one table.
@Suite struct ErrorCodeTests {
    static let expected: [(ServiceError.Kind, Int)] = [
        (.invalidParams, -32602),
        (.notFound, -32003),
        (.conflict, -32003),
        (.configuration, -32003),
        (.credentialsNotFound, -32001),
        (.credentialsInvalid, -32001),
        (.connectionFailed, -32004),
        (.timeout, -32004),
        (.streamCorrupt, -32005),
        (.storage, -32010),
        (.cancelled, -32800),
        (.service, -32000),
        (.validation, -32000),
        (.expiredCredentials, -32000),
        (.invalidRequest, -32000),
        (.invalidResponse, -32000),
    ]

    @Test(arguments: expected) func eachKindHasItsCode(kind: ServiceError.Kind, code: Int) {
        let error = ServiceError(kind, type: "T", message: "m", hint: "h")
        #expect(ResponseError(error).code == ErrorCode(code))
        #expect(ResponseError(error).data?["hint"] == "h")
    }

    /// Bedrock's own failures keep their kind through the service layer.
    @Test(arguments: [
        ("CredentialsNotFound", -32001), ("CredentialsInvalid", -32001), ("ConnectionFailed", -32004),
        ("Timeout", -32004), ("StreamCorrupt", -32005), ("RegionNotSet", -32003), ("AccessDeniedException", -32000),
        ("ThrottlingException", -32000), ("ValidationException", -32000), ("SomethingNewException", -32000),
    ])
    func bedrockFailuresMapByKind(type: String, code: Int) {
        let error = ServiceError(BedrockError(type: type, message: "m"))
        #expect(ResponseError(error).code == ErrorCode(code), "\(type) is \(error.kind)")
        #expect(ResponseError(error).data?["type"] == .string(type))
    }
}
