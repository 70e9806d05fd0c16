import Foundation
import JSON
import TestSupport
import Testing

@testable import Bedrock

/// Converse and ConverseStream against the stand-in, with each credential source on its own.
@Suite struct StandInCredentialTests {
    enum Source: String, CaseIterable, Sendable {
        case environment, sessionEnvironment, apiKeyEnvPascal, apiKeyEnvSnake, bearer, profile, credentialProcess,
            assumeRole, webIdentity, container, imds
    }

    /// The environment (and apiKeyEnv) selecting one source, and the source name the chain must report.
    static func setup(_ source: Source, _ standIn: StandIn, _ dir: TempDir) throws
        -> (env: [String: String], apiKeyEnv: String?, expected: String)
    {
        typealias I = StandIn.Identity
        let none = StandInSupport.environment(keys: false)
        func with(_ extra: [String: String]) -> [String: String] { none.merging(extra) { $1 } }
        switch source {
        case .environment:
            return (StandInSupport.environment(), nil, "environment")
        case .sessionEnvironment:
            return (
                with([
                    "AWS_ACCESS_KEY_ID": I.sessionAccessKeyID, "AWS_SECRET_ACCESS_KEY": I.sessionSecretAccessKey,
                    "AWS_SESSION_TOKEN": I.sessionToken,
                ]), nil, "environment"
            )
        case .apiKeyEnvPascal:
            let blob =
                #"{"AccessKeyID":"\#(I.sessionAccessKeyID)","SecretAccessKey":"\#(I.sessionSecretAccessKey)","#
                + #""SessionToken":"\#(I.sessionToken)"}"#
            return (with(["CONTENOX_TEST_KEYS": blob]), "CONTENOX_TEST_KEYS", "api-key-env:CONTENOX_TEST_KEYS")
        case .apiKeyEnvSnake:
            let blob = #"{"access_key_id":"\#(I.accessKeyID)","secret_access_key":"\#(I.secretAccessKey)"}"#
            return (with(["CONTENOX_TEST_KEYS": blob]), "CONTENOX_TEST_KEYS", "api-key-env:CONTENOX_TEST_KEYS")
        case .bearer:
            return (with(["AWS_BEARER_TOKEN_BEDROCK": I.bedrockAPIKey]), nil, "bearer-token")
        case .profile:
            try dir.write(
                "credentials",
                "[sp]\naws_access_key_id = \(I.accessKeyID)\naws_secret_access_key = \(I.secretAccessKey)\n")
            return (
                with(["AWS_SHARED_CREDENTIALS_FILE": dir.path("credentials"), "AWS_PROFILE": "sp"]), nil, "profile:sp"
            )
        case .credentialProcess:
            let json =
                #"{"Version": 1, "AccessKeyId": "\#(I.sessionAccessKeyID)", "#
                + #""SecretAccessKey": "\#(I.sessionSecretAccessKey)", "SessionToken": "\#(I.sessionToken)"}"#
            try dir.write("config", "[profile cp]\ncredential_process = printf '%s' '\(json)'\n")
            return (with(["AWS_CONFIG_FILE": dir.path("config"), "AWS_PROFILE": "cp"]), nil, "credential-process:cp")
        case .assumeRole:
            try dir.write(
                "config",
                """
                [profile base]
                aws_access_key_id = \(I.accessKeyID)
                aws_secret_access_key = \(I.secretAccessKey)
                [profile role]
                role_arn = arn:aws:iam::123456789012:role/standin-role
                source_profile = base
                region = us-east-1
                """)
            return (
                with([
                    "AWS_CONFIG_FILE": dir.path("config"), "AWS_PROFILE": "role",
                    "AWS_ENDPOINT_URL_STS": standIn.baseURL,
                ]), nil, "assume-role:role"
            )
        case .webIdentity:
            let tokenFile = try dir.write("token", I.webIdentityToken + "\n")
            return (
                with([
                    "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
                    "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/standin-role",
                    "AWS_ROLE_SESSION_NAME": "tests", "AWS_ENDPOINT_URL_STS": standIn.baseURL,
                ]), nil, "web-identity"
            )
        case .container:
            let tokenFile = try dir.write("ctoken", I.containerToken)
            return (
                with([
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI": standIn.baseURL + "/container/credentials",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
                ]), nil, "container"
            )
        case .imds:
            // IMDS allows 1 s per request by default; under the sanitizers everything is slower.
            return (
                with([
                    "AWS_EC2_METADATA_SERVICE_ENDPOINT": standIn.baseURL,
                    "AWS_METADATA_SERVICE_TIMEOUT": String(TestScale.seconds(1)),
                ]), nil, "imds"
            )
        }
    }

    @Test(arguments: Source.allCases)
    func converseAndStream(source: Source) async throws {
        let standIn = try StandIn.shared()
        let dir = try TempDir()
        let (env, apiKeyEnv, expected) = try Self.setup(source, standIn, dir)
        let client = StandInSupport.client(standIn, environment: env, apiKeyEnv: apiKeyEnv)
        #expect(try await client.resolveCredentials().source == expected)

        let response = try await client.converse(StandInSupport.request("hello from \(source.rawValue)"))
        #expect(response.message.content == [.text("Echo: hello from \(source.rawValue)")])
        #expect(response.stopReason == "end_turn")

        let streamed = await StandInSupport.collect(client.converseStream(StandInSupport.request("stream please")))
        #expect(streamed.error == nil)
        #expect(streamed.text == "Echo: stream please")
        #expect(streamed.assembler.stopReason == "end_turn")

        let check = await client.check()
        #expect(check.ok, "\(check.problems)")
        #expect(check.credentialSource == expected)
        #expect(check.region == "us-east-1")
    }

    @Test func container_withWrongTokenFails() async throws {
        let standIn = try StandIn.shared()
        let env = StandInSupport.environment(
            [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": standIn.baseURL + "/container/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong-token",
            ], keys: false)
        await #expect(throws: BedrockError.self) { try await CredentialChain(environment: env).resolve() }
    }

    @Test func webIdentity_withWrongTokenFailsWithSTSError() async throws {
        let standIn = try StandIn.shared()
        let dir = try TempDir()
        let env = StandInSupport.environment(
            [
                "AWS_WEB_IDENTITY_TOKEN_FILE": try dir.write("t", "not-the-token"),
                "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/x", "AWS_ENDPOINT_URL_STS": standIn.baseURL,
            ], keys: false)
        do {
            _ = try await CredentialChain(environment: env).resolve()
            Issue.record("expected an STS error")
        } catch {
            #expect(error.message.contains("STS"))
            #expect(!error.message.contains("not-the-token"))
        }
    }

    @Test func wrongSecretIsInvalidSignature() async throws {
        let standIn = try StandIn.shared()
        let env = StandInSupport.environment(["AWS_SECRET_ACCESS_KEY": "wrong/secret"])
        let client = StandInSupport.client(standIn, environment: env)
        do {
            _ = try await client.converse(StandInSupport.request("hi"))
            Issue.record("expected a signature error")
        } catch {
            #expect(error.type == "InvalidSignatureException" || error.type == "SignatureDoesNotMatch")
            #expect(!error.retryable)
        }
        let check = await client.check()
        #expect(!check.ok)
        #expect(check.problems.first?.hint.isEmpty == false)
    }

    @Test func noCredentialsCheckReportsProblem() async throws {
        let standIn = try StandIn.shared()
        let client = StandInSupport.client(standIn, environment: StandInSupport.environment(keys: false))
        let check = await client.check()
        #expect(!check.ok)
        #expect(check.credentialSource == nil)
        #expect(check.problems.map(\.type) == ["CredentialsNotFound"])
        #expect(check.json["problems"]?[0]?["hint"]?.stringValue?.contains("AWS_PROFILE") == true)
    }
}
