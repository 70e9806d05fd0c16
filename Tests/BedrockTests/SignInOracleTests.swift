import Foundation
import JSON
import TestSupport
import Testing

@testable import Bedrock

/// botocore as the oracle for IAM Identity Center and `aws login` profiles: given the same config and cache
/// files and the same fake endpoints, botocore and contenox resolve the same keys, each reads the cache the
/// other refreshed and wrote (the refresh happens once), and they fail in the same cases. Serialized: each
/// case starts a Python that imports botocore, and a dozen at once starve the suite's timing-bound tests.
@Suite(.serialized) struct SignInOracleTests {
    static var script: String { fixturesDirectory().appendingPathComponent("signin/botocore_credentials.py").path }

    /// botocore's answer: {accessKeyId, secretAccessKey, sessionToken, method} or {error, message}.
    static func botocore(_ environment: [String: String]) throws -> JSONValue {
        let input: JSONValue = ["environment": .object(JSONObject(environment.map { ($0.key, .string($0.value)) }))]
        return try JSONValue.parse(try runPython(script, input: input.serialized()))
    }

    static func contenox(_ environment: [String: String]) async throws -> AWSCredentials {
        let resolved = try await CredentialChain(environment: environment).resolve()
        guard case .sigV4(let keys) = resolved.auth else { throw BedrockError.own("NotSigV4", "bearer") }
        return keys
    }

    static func expectSame(_ keys: AWSCredentials, _ oracle: JSONValue) {
        #expect(oracle["error"] == nil, "botocore failed: \(oracle)")
        #expect(oracle["accessKeyId"]?.stringValue == keys.accessKeyID)
        #expect(oracle["secretAccessKey"]?.stringValue == keys.secretAccessKey)
        #expect(oracle["sessionToken"]?.stringValue == keys.sessionToken)
    }

    /// Resolves with both, in the order given, expects the same keys, and returns botocore's answer.
    @discardableResult
    static func compare(_ environment: [String: String], contenoxFirst: Bool) async throws -> JSONValue {
        var keys: AWSCredentials?
        if contenoxFirst { keys = try await Self.contenox(environment) }
        let oracle = try Self.botocore(environment)
        if !contenoxFirst { keys = try await Self.contenox(environment) }
        if let keys { Self.expectSame(keys, oracle) }
        return oracle
    }

    @Test(arguments: [true, false])
    func ssoRefreshedByOneIsReadByTheOther(contenoxFirst: Bool) async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        try sessions.expiringSSOToken(expiresIn: 600)
        let oracle = try await Self.compare(sessions.environment(profile: "sso-dev"), contenoxFirst: contenoxFirst)
        #expect(oracle["method"] == "sso")
        #expect(try sessions.count("oidc:\(sessions.ssoClientID)") == 1)
    }

    @Test func legacySSOFormResolvesTheSameKeys() async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        try sessions.grant(accessToken: "legacy-\(sessions.unique)")
        try sessions.writeSSOToken(
            accessToken: "legacy-\(sessions.unique)", expiresIn: 3600, refreshToken: nil, legacy: true)
        try await Self.compare(sessions.environment(profile: "sso-legacy"), contenoxFirst: true)
    }

    @Test(arguments: [true, false])
    func loginRefreshedByOneIsReadByTheOther(contenoxFirst: Bool) async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        try sessions.expiringLogin(expiresIn: 120)
        let oracle = try await Self.compare(sessions.environment(profile: "console"), contenoxFirst: contenoxFirst)
        #expect(oracle["method"] == "login")
        #expect(try sessions.count("login:\(sessions.loginClientID)") == 1)
    }

    /// Profiles that name two sources: botocore's order decides, and contenox must pick the same one.
    enum Mix: String, CaseIterable, Sendable {
        case ssoOverCredentialsFileKeys, credentialsFileKeysOverLogin, loginOverProcess, processOverConfigKeys
    }

    @Test(arguments: Mix.allCases)
    func profileWithTwoSourcesPicksBotocoresOne(_ mix: Mix) async throws {
        typealias I = StandIn.Identity
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        let keys = "aws_access_key_id = \(I.accessKeyID)\naws_secret_access_key = \(I.secretAccessKey)\n"
        let process =
            #"credential_process = printf '%s' '{"Version": 1, "AccessKeyId": "\#(I.sessionAccessKeyID)", "#
            + #""SecretAccessKey": "\#(I.sessionSecretAccessKey)", "SessionToken": "\#(I.sessionToken)"}'"#
        var config = try String(contentsOfFile: sessions.configPath, encoding: .utf8)
        let (profile, method, source): (String, String, String)
        switch mix {
        case .ssoOverCredentialsFileKeys:
            try sessions.grant(accessToken: "a-\(sessions.unique)")
            try sessions.writeSSOToken(accessToken: "a-\(sessions.unique)", expiresIn: 3600, refreshToken: nil)
            try "[sso-dev]\n\(keys)".write(toFile: sessions.credentialsPath, atomically: true, encoding: .utf8)
            (profile, method, source) = ("sso-dev", "sso", "sso:sso-dev")
        case .credentialsFileKeysOverLogin:
            try sessions.expiringLogin(expiresIn: 600)
            try "[console]\n\(keys)".write(toFile: sessions.credentialsPath, atomically: true, encoding: .utf8)
            (profile, method, source) = ("console", "shared-credentials-file", "profile:console")
        case .loginOverProcess:
            try sessions.expiringLogin(expiresIn: 120)
            config += "[profile both]\nlogin_session = \(SignInSessions.loginSession)\nregion = us-east-1\n\(process)\n"
            (profile, method, source) = ("both", "login", "login:both")
        case .processOverConfigKeys:
            config += "[profile proc]\n\(keys)\(process)\n"
            (profile, method, source) = ("proc", "custom-process", "credential-process:proc")
        }
        try config.write(toFile: sessions.configPath, atomically: true, encoding: .utf8)
        let environment = sessions.environment(profile: profile)
        let resolved = try await CredentialChain(environment: environment).resolve()
        #expect(resolved.source == source)
        let oracle = try Self.botocore(environment)
        #expect(oracle["method"]?.stringValue == method, "\(oracle)")
        guard case .sigV4(let found) = resolved.auth else { return }
        Self.expectSame(found, oracle)
    }

    /// Each case: the profile, how to arrange it, botocore's exception and contenox's error type.
    enum Failure: String, CaseIterable, Sendable {
        case ssoNoToken, ssoLegacyExpired, ssoPortalRejects, loginNoCache, loginTokenExpired, loginCredentialsChanged,
            loginInsufficientPermissions
    }

    @Test(arguments: Failure.allCases)
    func bothFailInTheSameCases(_ failure: Failure) async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        func expiredLogin(_ code: String) throws { try sessions.expiringLogin(expiresIn: -10, error: code) }
        let (profile, botocoreError, contenoxType): (String, String, String)
        switch failure {
        case .ssoNoToken:
            (profile, botocoreError, contenoxType) = ("sso-dev", "SSOTokenLoadError", "SSOTokenNotFound")
        case .ssoLegacyExpired:
            try sessions.writeSSOToken(
                accessToken: "t-\(sessions.unique)", expiresIn: -60, refreshToken: nil, legacy: true)
            (profile, botocoreError, contenoxType) = ("sso-legacy", "UnauthorizedSSOTokenError", "SSOTokenExpired")
        case .ssoPortalRejects:
            try sessions.writeSSOToken(
                accessToken: "t-\(sessions.unique)", expiresIn: 3600, refreshToken: nil, legacy: true)
            (profile, botocoreError, contenoxType) = ("sso-legacy", "UnauthorizedSSOTokenError", "SSOTokenExpired")
        case .loginNoCache:
            (profile, botocoreError, contenoxType) = ("console", "LoginTokenLoadError", "LoginNotFound")
        case .loginTokenExpired:
            try expiredLogin("TOKEN_EXPIRED")
            (profile, botocoreError, contenoxType) = ("console", "LoginRefreshRequired", "LoginExpired")
        case .loginCredentialsChanged:
            try expiredLogin("USER_CREDENTIALS_CHANGED")
            (profile, botocoreError, contenoxType) = ("console", "LoginRefreshRequired", "LoginCredentialsChanged")
        case .loginInsufficientPermissions:
            try expiredLogin("INSUFFICIENT_PERMISSIONS")
            (profile, botocoreError, contenoxType) = (
                "console", "LoginInsufficientPermissions", "LoginInsufficientPermissions"
            )
        }
        let environment = sessions.environment(profile: profile)
        let oracle = try Self.botocore(environment)
        #expect(oracle["error"]?.stringValue == botocoreError, "\(oracle)")
        do {
            _ = try await Self.contenox(environment)
            Issue.record("contenox resolved credentials where botocore failed")
        } catch let error as BedrockError {
            #expect(error.type == contenoxType, "\(error)")
            #expect(
                error.hint.contains(
                    profile.hasPrefix("sso") ? "aws sso login --profile \(profile)" : "aws login --profile \(profile)"))
        }
    }
}
