import Foundation
import JSON
import TestSupport
import Testing

@testable import Bedrock

/// IAM Identity Center (SSO) and `aws login` profiles through the credential chain, against the stand-in's
/// fakes of the portal, SSO OIDC and sign-in endpoints (which check the bearer token, the refresh grant
/// and the DPoP proof), and then Bedrock calls signed with the keys they issued.
@Suite struct SignInCredentialTests {
    static func client(_ sessions: SignInSessions, profile: String) -> BedrockClient {
        StandInSupport.client(sessions.standIn, environment: sessions.environment(profile: profile))
    }

    static func chain(_ sessions: SignInSessions, profile: String) -> CredentialChain {
        CredentialChain(environment: sessions.environment(profile: profile))
    }

    /// The error `resolve()` throws, or nil.
    static func failure(_ chain: CredentialChain) async -> BedrockError? {
        do {
            _ = try await chain.resolve()
            return nil
        } catch {
            return error
        }
    }

    static func keys(_ resolved: ResolvedCredentials) -> AWSCredentials? {
        if case .sigV4(let keys) = resolved.auth { return keys }
        return nil
    }

    static func permissions(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// The keys of a JSON object text in the order they are written.
    static func keyOrder(_ path: String) throws -> [String] {
        try JSONValue.parse(try String(contentsOfFile: path, encoding: .utf8)).objectValue?.keys ?? []
    }

    // MARK: IAM Identity Center

    @Test(arguments: ["sso-dev", "sso-legacy"])
    func ssoProfileChatsWithRoleCredentials(profile: String) async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        let token = "access-\(sessions.unique)"
        try sessions.grant(accessToken: token)
        try sessions.writeSSOToken(
            accessToken: token, expiresIn: 3600, refreshToken: nil, legacy: profile == "sso-legacy")
        let client = Self.client(sessions, profile: profile)

        let resolved = try await client.resolveCredentials()
        #expect(resolved.source == "sso:\(profile)")
        let expiration = try #require(resolved.expiration)
        #expect(abs(expiration.timeIntervalSinceNow - 3600) < 60)
        let response = try await client.converse(StandInSupport.request("hello through sso"))
        #expect(response.message.content == [.text("Echo: hello through sso")])
        let streamed = await StandInSupport.collect(client.converseStream(StandInSupport.request("and streamed")))
        #expect(streamed.error == nil)
        #expect(streamed.text == "Echo: and streamed")
        // Role credentials are kept until shortly before they expire: one portal call for all of it.
        #expect(try sessions.count("portal:\(token)") == 1)
    }

    @Test func ssoTokenNearExpiryIsRefreshedAndWrittenBackAsTheCLIWritesIt() async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        let client = "client-\(sessions.unique)"
        let old = "access-\(sessions.unique)"
        let refresh = "refresh-\(sessions.unique)"
        // Ten minutes left is inside botocore's 15-minute window; the portal no longer takes the old token.
        try sessions.writeSSOToken(accessToken: old, expiresIn: 600, refreshToken: refresh, clientID: client)
        try sessions.register(refreshToken: refresh, clientID: client)
        let before = try String(contentsOfFile: sessions.ssoCachePath, encoding: .utf8)

        let resolved = try await Self.chain(sessions, profile: "sso-dev").resolve()
        #expect(resolved.source == "sso:sso-dev")
        #expect(try sessions.count("oidc:\(client)") == 1)
        #expect(try sessions.count("portal:\(old)") == 0)

        let written = try JSONValue.parse(try String(contentsOfFile: sessions.ssoCachePath, encoding: .utf8))
        let newToken = try #require(written["accessToken"]?.stringValue)
        #expect(newToken != old && newToken.hasPrefix("standin-sso-access-"))
        #expect(try sessions.count("portal:\(newToken)") == 1)
        #expect(written["refreshToken"]?.stringValue?.hasPrefix("standin-sso-refresh-") == true)
        #expect(written["clientId"]?.stringValue == client)
        #expect(written["clientSecret"]?.stringValue == "secret-\(client)")
        #expect(written["registrationExpiresAt"] == (try JSONValue.parse(before))["registrationExpiresAt"])
        let expiresAt = try #require(written["expiresAt"]?.stringValue)
        #expect(expiresAt.count == 20 && expiresAt.hasSuffix("Z"))
        #expect(abs((parseAWSDate(expiresAt)?.timeIntervalSinceNow ?? 0) - 3600) < 60)
        #expect(
            try Self.keyOrder(sessions.ssoCachePath) == [
                "startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret", "registrationExpiresAt",
                "refreshToken",
            ])
        #expect(try Self.permissions(sessions.ssoCachePath) == 0o600)
        // Python's json.dumps separators, as the AWS CLI writes the file.
        #expect(try String(contentsOfFile: sessions.ssoCachePath, encoding: .utf8).hasPrefix(#"{"startUrl": ""#))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: sessions.home + "/.aws/sso/cache")
        #expect(leftovers == [SignInSessions.sessionCacheName])
    }

    @Test func ssoTokenOutsideTheWindowIsNotRefreshed() async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        let client = "client-\(sessions.unique)"
        let token = "access-\(sessions.unique)"
        try sessions.grant(accessToken: token)
        try sessions.writeSSOToken(
            accessToken: token, expiresIn: 20 * 60, refreshToken: "refresh-\(sessions.unique)", clientID: client)
        _ = try await Self.chain(sessions, profile: "sso-dev").resolve()
        #expect(try sessions.count("oidc:\(client)") == 0)
        #expect(try sessions.count("portal:\(token)") == 1)
    }

    @Test func legacyTokenIsNeverRefreshed() async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        let token = "access-\(sessions.unique)"
        try sessions.grant(accessToken: token)
        try sessions.writeSSOToken(accessToken: token, expiresIn: 300, refreshToken: nil, legacy: true)
        let before = try String(contentsOfFile: sessions.legacyCachePath, encoding: .utf8)
        _ = try await Self.chain(sessions, profile: "sso-legacy").resolve()
        #expect(try String(contentsOfFile: sessions.legacyCachePath, encoding: .utf8) == before)
        #expect(try sessions.count("portal:\(token)") == 1)
    }

    enum SSOFailure: String, CaseIterable, Sendable {
        case noCacheFile, expiredLegacy, expiredRegistration, refreshRejected, portalRejects, roleNotAssigned
    }

    @Test(arguments: SSOFailure.allCases)
    func ssoFailuresSayWhatToRun(_ failure: SSOFailure) async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        let client = "client-\(sessions.unique)"
        let token = "access-\(sessions.unique)"
        var profile = "sso-dev"
        var expectedType = "SSOTokenExpired"
        switch failure {
        case .noCacheFile:
            expectedType = "SSOTokenNotFound"
        case .expiredLegacy:
            profile = "sso-legacy"
            try sessions.grant(accessToken: token)
            try sessions.writeSSOToken(accessToken: token, expiresIn: -60, refreshToken: nil, legacy: true)
        case .expiredRegistration:
            try sessions.register(refreshToken: "refresh-\(sessions.unique)", clientID: client)
            try sessions.writeSSOToken(
                accessToken: token, expiresIn: -60, refreshToken: "refresh-\(sessions.unique)", clientID: client,
                registrationExpiresIn: -1)
        case .refreshRejected:
            // The fake knows no such refresh token: invalid_grant.
            try sessions.writeSSOToken(
                accessToken: token, expiresIn: -60, refreshToken: "refresh-\(sessions.unique)", clientID: client)
        case .portalRejects:
            try sessions.writeSSOToken(accessToken: token, expiresIn: 3600, refreshToken: nil)
        case .roleNotAssigned:
            profile = "sso-norole"
            try sessions.grant(accessToken: token)
            try sessions.writeSSOToken(accessToken: token, expiresIn: 3600, refreshToken: nil)
            expectedType = "ForbiddenException"
        }
        let error = try #require(await Self.failure(Self.chain(sessions, profile: profile)))
        #expect(error.type == expectedType, "\(error)")
        if failure == .roleNotAssigned {
            #expect(error.hint.contains("sso_role_name") && error.hint.contains("--profile sso-norole"))
        } else {
            #expect(error.hint.contains("`aws sso login --profile \(profile)`"), "\(error.hint)")
        }
        #expect(error.retryable == false)
        #expect(!error.description.contains(token))
        if failure == .expiredLegacy || failure == .expiredRegistration || failure == .refreshRejected {
            // Nothing was sent with a token known to be dead.
            #expect(try sessions.count("portal:\(token)") == 0)
        }
        if failure == .expiredRegistration { #expect(try sessions.count("oidc:\(client)") == 0) }
        if failure == .refreshRejected { #expect(error.message.contains("could not be refreshed")) }
    }

    /// An expired token whose refresh cannot reach SSO OIDC is a connection problem, not a sign-in one.
    @Test func unreachableOIDCIsAConnectionFailure() async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        try sessions.expiringSSOToken(expiresIn: -60)
        var environment = sessions.environment(profile: "sso-dev")
        environment["AWS_ENDPOINT_URL_SSO_OIDC"] = "http://127.0.0.1:1"
        let error = try #require(await Self.failure(CredentialChain(environment: environment)))
        #expect(error.type == "ConnectionFailed", "\(error)")
        #expect(error.retryable)
        #expect(error.message.contains("SSO OIDC CreateToken"))
    }

    @Test func ssoConfigurationProblemsAreNamed() async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        try """
        [profile broken]
        sso_session = nowhere
        sso_account_id = 123456789012
        sso_role_name = Dev
        [profile partial]
        sso_start_url = https://x.awsapps.com/start
        sso_account_id = 123456789012
        [profile clash]
        sso_session = corp
        sso_start_url = https://other.awsapps.com/start
        sso_account_id = 123456789012
        sso_role_name = Dev
        [sso-session corp]
        sso_start_url = https://contenox-test.awsapps.com/start
        sso_region = us-east-1
        """.write(toFile: sessions.configPath, atomically: true, encoding: .utf8)
        let broken = try #require(await Self.failure(Self.chain(sessions, profile: "broken")))
        #expect(broken.type == "CredentialsInvalid" && broken.message.contains("[sso-session nowhere]"))
        let partial = try #require(await Self.failure(Self.chain(sessions, profile: "partial")))
        #expect(partial.message.hasSuffix("missing sso_role_name, sso_region"), "\(partial)")
        let clash = try #require(await Self.failure(Self.chain(sessions, profile: "clash")))
        #expect(clash.message.contains("sso_start_url"), "\(clash)")
    }

    /// A chain that lives on (as in `contenox serve`) picks up a refreshed session between calls: role
    /// credentials that expire within the refresh margin are fetched again, and a token near expiry is
    /// refreshed then, not before.
    @Test func longLivedChainRefreshesBetweenCalls() async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        let client = "client-\(sessions.unique)"
        let first = "access-\(sessions.unique)"
        // Role credentials for 200 s: inside the chain's 300 s margin, so every resolve asks the portal.
        try sessions.grant(accessToken: first, roleTTL: 200)
        try sessions.writeSSOToken(accessToken: first, expiresIn: 3600, refreshToken: nil)
        let chain = Self.chain(sessions, profile: "sso-dev")
        let one = try await chain.resolve()
        #expect(try sessions.count("portal:\(first)") == 1)

        // Time passes: the token is now near expiry and the portal has forgotten it.
        try sessions.revoke(first)
        try sessions.register(refreshToken: "refresh-\(sessions.unique)", clientID: client, roleTTL: 200)
        try sessions.writeSSOToken(
            accessToken: first, expiresIn: 300, refreshToken: "refresh-\(sessions.unique)", clientID: client)
        let two = try await chain.resolve()
        #expect(try sessions.count("oidc:\(client)") == 1)
        #expect(Self.keys(two)?.accessKeyID != Self.keys(one)?.accessKeyID)

        let three = try await chain.resolve()
        #expect(try sessions.count("oidc:\(client)") == 1)
        let refreshed = try #require(
            try JSONValue.parse(String(contentsOfFile: sessions.ssoCachePath, encoding: .utf8))["accessToken"])
        #expect(try sessions.count("portal:\(refreshed.stringValue ?? "")") == 2)
        #expect(Self.keys(three)?.accessKeyID == Self.keys(two)?.accessKeyID)
    }

    /// Chains resolving at once for one near-expiry session (several backends in one `contenox serve`).
    static func resolveAtOnce(_ sessions: SignInSessions, profile: String, count: Int) async throws
        -> [ResolvedCredentials]
    {
        let chains = (0..<count).map { _ in Self.chain(sessions, profile: profile) }
        return try await withThrowingTaskGroup(of: ResolvedCredentials.self) { group in
            for chain in chains { group.addTask { try await chain.resolve() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// The refresh token rotates, so a second refresh with the old one fails: refreshes of one cache file
    /// wait for each other, and the later ones find the token fresh.
    @Test func chainsSharingAnSSOSessionRefreshItOnce() async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        try sessions.expiringSSOToken(expiresIn: 600)
        let resolved = try await Self.resolveAtOnce(sessions, profile: "sso-dev", count: 4)
        #expect(resolved.count == 4)
        #expect(try sessions.count("oidc:\(sessions.ssoClientID)") == 1)
    }

    @Test func chainsSharingALoginSessionRefreshItOnce() async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        try sessions.expiringLogin(expiresIn: 60)
        let resolved = try await Self.resolveAtOnce(sessions, profile: "console", count: 4)
        #expect(Set(resolved.compactMap { Self.keys($0)?.accessKeyID }).count == 1)
        #expect(try sessions.count("login:\(sessions.loginClientID)") == 1)
    }

    // MARK: aws login

    @Test func loginKeysAreUsedWhileFresh() async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        let clientID = "arn:aws:signin:::devtools/\(sessions.unique)"
        try sessions.writeLoginToken(
            accessKeyID: StandIn.Identity.sessionAccessKeyID, secretAccessKey: StandIn.Identity.sessionSecretAccessKey,
            sessionToken: StandIn.Identity.sessionToken, expiresIn: 600, refreshToken: "r-\(sessions.unique)",
            clientID: clientID)
        let client = Self.client(sessions, profile: "console")
        let resolved = try await client.resolveCredentials()
        #expect(resolved.source == "login:console")
        #expect(Self.keys(resolved)?.accessKeyID == StandIn.Identity.sessionAccessKeyID)
        let response = try await client.converse(StandInSupport.request("hello through login"))
        #expect(response.message.content == [.text("Echo: hello through login")])
        #expect(try sessions.count("login:\(clientID)") == 0)
    }

    @Test func loginRefreshSignsADPoPProofAndRewritesTheCache() async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        let clientID = sessions.loginClientID
        // Four minutes left: under botocore's five-minute threshold.
        try sessions.expiringLogin(expiresIn: 240)
        let before = try JSONValue.parse(try String(contentsOfFile: sessions.loginCachePath, encoding: .utf8))
        let orderBefore = try Self.keyOrder(sessions.loginCachePath)

        let client = Self.client(sessions, profile: "console")
        let resolved = try await client.resolveCredentials()
        #expect(try sessions.count("login:\(clientID)") == 1)
        let keys = try #require(Self.keys(resolved))
        #expect(keys.accessKeyID != "ASIAOLDLOGINKEY")
        #expect(abs((keys.expiration?.timeIntervalSinceNow ?? 0) - 900) < 60)
        let response = try await client.converse(StandInSupport.request("refreshed login"))
        #expect(response.message.content == [.text("Echo: refreshed login")])

        let after = try JSONValue.parse(try String(contentsOfFile: sessions.loginCachePath, encoding: .utf8))
        #expect(after["accessToken"]?["accessKeyId"]?.stringValue == keys.accessKeyID)
        #expect(after["accessToken"]?["accountId"] == "123456789012")
        #expect(after["refreshToken"]?.stringValue?.hasPrefix("standin-login-refresh-") == true)
        for kept in ["dpopKey", "clientId", "idToken", "tokenType"] { #expect(after[kept] == before[kept]) }
        #expect(try Self.keyOrder(sessions.loginCachePath) == orderBefore)
        #expect(try Self.permissions(sessions.loginCachePath) == 0o600)
    }

    enum LoginFailure: String, CaseIterable, Sendable {
        case noCacheFile, tokenExpired, credentialsChanged, insufficientPermissions, wrongKey
    }

    @Test(arguments: LoginFailure.allCases)
    func loginFailuresSayWhatToRun(_ failure: LoginFailure) async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        let expected: String
        switch failure {
        case .noCacheFile: expected = "LoginNotFound"
        case .tokenExpired:
            try sessions.expiringLogin(expiresIn: -10, error: "TOKEN_EXPIRED")
            expected = "LoginExpired"
        case .credentialsChanged:
            try sessions.expiringLogin(expiresIn: -10, error: "USER_CREDENTIALS_CHANGED")
            expected = "LoginCredentialsChanged"
        case .insufficientPermissions:
            try sessions.expiringLogin(expiresIn: -10, error: "INSUFFICIENT_PERMISSIONS")
            expected = "LoginInsufficientPermissions"
        case .wrongKey:
            // The fake holds another key than the cache's: the proof must not verify.
            try sessions.expiringLogin(expiresIn: -10, keyFile: Self.otherKeyPath)
            expected = "LoginRefreshFailed"
        }
        let error = try #require(await Self.failure(Self.chain(sessions, profile: "console")))
        #expect(error.type == expected, "\(error)")
        #expect(error.hint.contains("`aws login --profile console`"), "\(error.hint)")
        if failure == .insufficientPermissions { #expect(error.hint.contains("signin:CreateOAuth2Token")) }
        if failure == .wrongKey { #expect(error.message.contains("DPoP proof rejected")) }
        #expect(!error.description.contains("old-secret"))
    }

    static var otherKeyPath: String { fixturesDirectory().appendingPathComponent("signin/other-key.pem").path }

    @Test func dpopProofIsAnES256JWTOverTheRequest() throws {
        let pem = try String(contentsOfFile: SignInSessions.dpopKeyPath, encoding: .utf8)
        let key = try #require(DPoPKey(pem: pem))
        let proof = try #require(key.proof(method: "POST", url: "https://us-east-1.signin.aws.amazon.com/v1/token"))
        let parts = proof.split(separator: ".").map(String.init)
        #expect(parts.count == 3)
        func decode(_ part: String) throws -> JSONValue {
            var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while text.count % 4 != 0 { text += "=" }
            return try JSONValue.parse([UInt8](try #require(Data(base64Encoded: text))))
        }
        let header = try decode(parts[0])
        #expect(header["typ"] == "dpop+jwt" && header["alg"] == "ES256")
        #expect(header["jwk"]?["kty"] == "EC" && header["jwk"]?["crv"] == "P-256")
        #expect(header["jwk"]?["x"]?.stringValue?.count == 43)
        let payload = try decode(parts[1])
        #expect(payload["htu"] == "https://us-east-1.signin.aws.amazon.com/v1/token" && payload["htm"] == "POST")
        #expect(payload["jti"]?.stringValue?.isEmpty == false)
        #expect(parts[2].count == 86)  // 64 bytes r||s
        #expect(DPoPKey(pem: "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n") == nil)
    }

    @Test(arguments: [
        (["AWS_ENDPOINT_URL_SSO": "http://a/", "AWS_ENDPOINT_URL": "http://b"], "SSO", "http://a"),
        (["AWS_ENDPOINT_URL_SSO": "http://a", "AWS_ENDPOINT_URL": "http://b//"], "SSO_OIDC", "http://b"),
        ([:], "SIGNIN", "https://default"),
        (
            ["AWS_ENDPOINT_URL_SIGNIN": "http://a", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE"], "SIGNIN",
            "https://default"
        ),
    ])
    func endpointOverrides(environment: [String: String], service: String, expected: String) {
        #expect(
            CredentialHTTP.endpoint(service: service, default: "https://default", environment: environment) == expected)
    }

    /// AWS_ENDPOINT_URL alone (no per-service variable) reaches the portal and OIDC fakes.
    @Test func theGeneralEndpointVariableServesSSO() async throws {
        let sessions = try SignInSessions(standIn: try StandIn.shared())
        try sessions.expiringSSOToken(expiresIn: 600)
        var environment = sessions.environment(profile: "sso-dev")
        environment["AWS_ENDPOINT_URL_SSO"] = nil
        environment["AWS_ENDPOINT_URL_SSO_OIDC"] = nil
        environment["AWS_ENDPOINT_URL"] = sessions.standIn.baseURL
        #expect(try await CredentialChain(environment: environment).resolve().source == "sso:sso-dev")
        #expect(try sessions.count("oidc:\(sessions.ssoClientID)") == 1)
    }

    /// botocore's order for the sign-in region: AWS_DEFAULT_REGION, the profile's, then (ours) AWS_REGION
    /// and the backend's.
    @Test(arguments: [
        ("region = eu-west-1\n", ["AWS_DEFAULT_REGION": "us-west-2", "AWS_REGION": "ap-south-1"], "us-west-2"),
        ("region = eu-west-1\n", ["AWS_REGION": "ap-south-1"], "eu-west-1"),
        ("", ["AWS_REGION": "ap-south-1"], "ap-south-1"),
        ("", [:], "ca-central-1"),
    ])
    func signInRegion(profileRegion: String, environment: [String: String], expected: String) throws {
        let config = AWSConfigFile(parsing: "[profile p]\nlogin_session = s\n" + profileRegion)
        let files = AWSSharedProfiles(config: config, credentials: AWSConfigFile())
        let login = try #require(
            LoginProvider(profile: "p", files: files, region: "ca-central-1", environment: environment))
        #expect(login.tokenURL == "https://\(expected).signin.aws.amazon.com/v1/token")
    }

    /// Older AWS CLIs wrote "...UTC" (strftime %Z); botocore reads it, and so must contenox.
    @Test(arguments: [
        ("2026-12-05T22:40:00Z", 1_796_510_400.0), ("2026-12-05T22:40:00UTC", 1_796_510_400.0),
        ("2026-12-05T23:40:00+01:00", 1_796_510_400.0), ("2026-12-05T22:40:00.500Z", 1_796_510_400.5),
        ("not a date", nil),
    ])
    func cacheFileTimes(text: String, seconds: Double?) {
        #expect(AWSCLICacheFile.date(text)?.timeIntervalSince1970 == seconds)
    }

    @Test func cacheFileNamesAreTheSDKs() throws {
        #expect(AWSCLICacheFile.sha1Hex(SignInSessions.sessionName) + ".json" == SignInSessions.sessionCacheName)
        #expect(AWSCLICacheFile.sha1Hex(SignInSessions.startURL) + ".json" == SignInSessions.legacyCacheName)
        #expect(SigV4.sha256Hex(Array(SignInSessions.loginSession.utf8)) + ".json" == SignInSessions.loginCacheName)
        #expect(
            AWSCLICacheFile.expand("~/x/$USERX/${HOMEY}", environment: ["HOME": "/h", "HOMEY": "y"]) == "/h/x/$USERX/y")
    }
}
