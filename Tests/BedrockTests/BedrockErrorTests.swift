import JSON
import Testing

@testable import Bedrock

@Suite struct BedrockErrorTests {
    /// Every row of bedrock-notes.md "Errors before the stream", with its status and retry rule.
    @Test(arguments: [
        ("AccessDeniedException", 403, false, "Model access"),
        ("ValidationException", 400, false, "model id"),
        ("UnrecognizedClientException", 403, false, "region"),
        ("InvalidSignatureException", 403, false, "region"),
        ("ExpiredTokenException", 403, false, "aws sso login"),
        ("ResourceNotFoundException", 404, false, "region"),
        ("ThrottlingException", 429, true, "quota increase"),
        ("ModelTimeoutException", 408, false, "shorter prompt"),
        ("ModelNotReadyException", 429, true, "retry"),
        ("ServiceUnavailableException", 503, true, "retry"),
        ("InternalServerException", 500, true, "request id"),
    ])
    func preStreamTable(type: String, status: Int, retryable: Bool, hintFragment: String) {
        let error = BedrockError(type: type, message: "m", httpStatus: status)
        #expect(error.retryable == retryable)
        #expect(error.hint.localizedCaseInsensitiveContains(hintFragment), "\(error.hint)")
    }

    @Test(arguments: [
        ("internalServerException", true), ("modelStreamErrorException", false), ("validationException", false),
        ("throttlingException", true), ("serviceUnavailableException", true),
    ])
    func inStreamTable(type: String, retryable: Bool) {
        let error = BedrockError(type: type, message: "m")
        #expect(error.retryable == retryable)
        #expect(!error.hint.isEmpty)
        #expect(error.hint != BedrockError.entry(for: "NoSuchThing", httpStatus: nil).hint)
    }

    @Test(arguments: [
        "CredentialsNotFound", "StreamCorrupt", "ConnectionFailed", "Timeout", "Cancelled", "BackendNotFound",
        "ModelNotSet",
    ])
    func ownTypesHaveRows(type: String) {
        #expect(BedrockError.catalog[type] != nil)
    }

    @Test func accessDeniedHint() {
        let error = BedrockError(type: "AccessDeniedException", message: "You don't have access", httpStatus: 403)
        #expect(
            error.hint
                == "Enable the model for this account and region under Model access in the Amazon Bedrock console "
                + "(or check the IAM policy allows bedrock:InvokeModelWithResponseStream)")
    }

    @Test(arguments: [
        ("us-east-1", "us.anthropic.claude-3-7-sonnet-20250219-v1:0"),
        ("eu-central-1", "eu.anthropic.claude-3-7-sonnet-20250219-v1:0"),
        ("ap-northeast-1", "apac.anthropic.claude-3-7-sonnet-20250219-v1:0"),
    ])
    func onDemandHintNamesProfileID(region: String, suggested: String) {
        let error = BedrockError(
            type: "ValidationException",
            message: "Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput "
                + "isn't supported. Retry your request with the ID or ARN of an inference profile.",
            httpStatus: 400, modelID: "anthropic.claude-3-7-sonnet-20250219-v1:0", region: region)
        #expect(error.hint.hasPrefix("Use an inference profile id: prefix the model id with us., eu. or apac."))
        #expect(error.hint.contains("(e.g. \(suggested))"))
        #expect(!error.retryable)
    }

    @Test(arguments: [
        ("ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/", "ValidationException"),
        ("com.amazon.coral.service#ExpiredTokenException", "ExpiredTokenException"),
        ("aws.protocols#ThrottlingException:http://x/y", "ThrottlingException"),
        ("AccessDeniedException", "AccessDeniedException"),
    ])
    func headerTypeParsing(header: String, type: String) {
        let error = BedrockError.fromHTTP(
            status: 400, headers: HTTPHeaders([("X-Amzn-ErrorType", header), ("x-amzn-RequestId", "rid-1")]),
            body: Array(#"{"message":"boom"}"#.utf8))
        #expect(error.type == type)
        #expect(error.message == "boom")
        #expect(error.requestID == "rid-1")
        #expect(error.httpStatus == 400)
    }

    @Test func bodyTypeAndCapitalMessage() {
        let error = BedrockError.fromHTTP(
            status: 403, headers: HTTPHeaders(),
            body: Array(#"{"__type":"com.amazon.coral.service#UnrecognizedClientException","Message":"bad"}"#.utf8))
        #expect(error.type == "UnrecognizedClientException")
        #expect(error.message == "bad")
        let coded = BedrockError.fromHTTP(
            status: 429, headers: HTTPHeaders(), body: Array(#"{"code":"ThrottlingException"}"#.utf8))
        #expect(coded.type == "ThrottlingException")
        #expect(coded.retryable)
    }

    @Test func unknownTypeRetryableByStatus() {
        #expect(BedrockError.fromHTTP(status: 502, headers: HTTPHeaders(), body: Array("bad gateway".utf8)).retryable)
        #expect(!BedrockError.fromHTTP(status: 418, headers: HTTPHeaders(), body: []).retryable)
    }

    @Test func jsonShape() {
        let error = BedrockError(
            type: "ThrottlingException", message: "slow down", httpStatus: 429, requestID: "r", retryable: true,
            hint: "h")
        #expect(
            error.json
                == [
                    "type": "ThrottlingException", "message": "slow down", "httpStatus": 429, "requestId": "r",
                    "retryable": true, "hint": "h",
                ])
        let bare = BedrockError(type: "Timeout", message: "t", retryable: true, hint: "h")
        #expect(bare.json["httpStatus"] == nil)
        #expect(bare.json["requestId"] == nil)
    }
}
