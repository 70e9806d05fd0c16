import Foundation
import JSON

/// IAM Identity Center (SSO) and `aws login` sessions for tests: a scratch HOME with an AWS config file and
/// the AWS CLI's cache files, and the stand-in's fakes of the portal, SSO OIDC and sign-in endpoints
/// (tools/standin/signin_fakes.py) told which tokens to accept. Names of tokens and clients are unique per
/// instance, so tests can share one stand-in. The directory is removed in deinit.
public final class SignInSessions: Sendable {
    public let standIn: StandIn
    public let root: String
    /// A prefix that makes this instance's tokens and client ids unique.
    public let unique: String

    public static let sessionName = "corp"
    public static let startURL = "https://contenox-test.awsapps.com/start"
    public static let loginSession = "arn:aws:iam::123456789012:user/console-dev"
    /// SHA-1 of the session name and of the start URL, SHA-256 of the login session (Python's hashlib).
    public static let sessionCacheName = "ee0bfd2552fbd840c02cc48b6e823320543c450f.json"
    public static let legacyCacheName = "0a329eb3dc702b9bdb8113d8ea0def97a09aaf9b.json"
    public static let loginCacheName = "50f49e761afb17b193eaa945d9b7050c191731533f9803615732c2fcdb6996c4.json"

    /// A P-256 test key ("BEGIN EC PRIVATE KEY"), the `dpopKey` of the login cache.
    public static var dpopKeyPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("BedrockTests/Fixtures/signin/dpop-key.pem").path
    }

    /// Profiles: `sso-dev` (sso_session form), `sso-legacy` (start URL in the profile), `sso-norole` (a role
    /// the portal refuses), `console` (`aws login`).
    public init(standIn: StandIn) throws {
        self.standIn = standIn
        unique = UUID().uuidString.prefix(8).lowercased()
        root =
            FileManager.default.temporaryDirectory.appendingPathComponent("signin-\(unique)-\(UUID().uuidString)")
            .path
        for directory in [home + "/.aws/sso/cache", loginCacheDirectory] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let config = """
            [profile sso-dev]
            sso_session = \(Self.sessionName)
            sso_account_id = 123456789012
            sso_role_name = Dev
            region = us-east-1

            [profile sso-legacy]
            sso_start_url = \(Self.startURL)
            sso_region = us-east-1
            sso_account_id = 123456789012
            sso_role_name = Dev
            region = us-east-1

            [profile sso-norole]
            sso_session = \(Self.sessionName)
            sso_account_id = 123456789012
            sso_role_name = NotAssigned
            region = us-east-1

            [profile console]
            login_session = \(Self.loginSession)
            region = us-east-1

            [sso-session \(Self.sessionName)]
            sso_start_url = \(Self.startURL)
            sso_region = us-east-1
            sso_registration_scopes = sso:account:access

            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    public var home: String { root + "/home" }
    public var configPath: String { root + "/config" }
    /// The shared credentials file (not written unless a test writes it).
    public var credentialsPath: String { root + "/credentials" }
    public var loginCacheDirectory: String { root + "/login-cache" }
    public var ssoCachePath: String { home + "/.aws/sso/cache/" + Self.sessionCacheName }
    public var legacyCachePath: String { home + "/.aws/sso/cache/" + Self.legacyCacheName }
    public var loginCachePath: String { loginCacheDirectory + "/" + Self.loginCacheName }

    /// What the SDKs need to find `profile` and the fakes, and nothing else (no keys, no IMDS).
    public func environment(profile: String) -> [String: String] {
        [
            "HOME": home, "AWS_CONFIG_FILE": configPath, "AWS_SHARED_CREDENTIALS_FILE": credentialsPath,
            "AWS_PROFILE": profile, "AWS_ENDPOINT_URL_SSO": standIn.baseURL,
            "AWS_ENDPOINT_URL_SSO_OIDC": standIn.baseURL, "AWS_ENDPOINT_URL_SIGNIN": standIn.baseURL,
            "AWS_LOGIN_CACHE_DIRECTORY": loginCacheDirectory, "AWS_EC2_METADATA_DISABLED": "true",
        ]
    }

    /// "2026-12-05T22:40:00Z", `seconds` from now.
    public static func timestamp(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date().addingTimeInterval(seconds))
    }

    // MARK: IAM Identity Center

    /// A token cache file as `aws sso login` writes it (the session form's, or with `legacy` the start URL's,
    /// which has no registration).
    public func writeSSOToken(
        accessToken: String, expiresIn: Double, refreshToken: String?, clientID: String = "",
        registrationExpiresIn: Double = 86400, legacy: Bool = false
    ) throws {
        var object: JSONObject = [
            "startUrl": .string(Self.startURL), "region": "us-east-1", "accessToken": .string(accessToken),
            "expiresAt": .string(Self.timestamp(expiresIn)),
        ]
        if let refreshToken {
            object["clientId"] = .string(clientID)
            object["clientSecret"] = .string("secret-" + clientID)
            object["registrationExpiresAt"] = .string(Self.timestamp(registrationExpiresIn))
            object["refreshToken"] = .string(refreshToken)
        }
        try JSONValue.object(object).jsonString.write(
            toFile: legacy ? legacyCachePath : ssoCachePath, atomically: true, encoding: .utf8)
    }

    /// A token the portal accepts for `expiresIn` seconds; role credentials it gives live `roleTTL` seconds.
    public func grant(accessToken: String, expiresIn: Int = 3600, roleTTL: Int = 3600) throws {
        try control(
            "/_standin/sso/access-token", ["token": accessToken, "expiresIn": "\(expiresIn)", "roleTTL": "\(roleTTL)"])
    }

    /// A refresh token SSO OIDC accepts once (it rotates) from `clientID` with secret "secret-<clientID>".
    public func register(refreshToken: String, clientID: String, tokenTTL: Int = 3600, roleTTL: Int = 3600) throws {
        try control(
            "/_standin/sso/refresh-token",
            [
                "token": refreshToken, "clientId": clientID, "clientSecret": "secret-" + clientID,
                "tokenTTL": "\(tokenTTL)", "roleTTL": "\(roleTTL)",
            ])
    }

    /// The access or refresh token stops working.
    public func revoke(_ token: String) throws { try control("/_standin/sso/revoke", ["token": token]) }

    // MARK: aws login

    /// A login cache file as `aws login` writes it, with the AWS keys and the DPoP key.
    public func writeLoginToken(
        accessKeyID: String, secretAccessKey: String, sessionToken: String, expiresIn: Double, refreshToken: String,
        clientID: String
    ) throws {
        let object: JSONObject = [
            "accessToken": [
                "accessKeyId": .string(accessKeyID), "secretAccessKey": .string(secretAccessKey),
                "sessionToken": .string(sessionToken), "accountId": "123456789012",
                "expiresAt": .string(Self.timestamp(expiresIn)),
            ],
            "tokenType": "aws_sigv4", "clientId": .string(clientID), "refreshToken": .string(refreshToken),
            "idToken": "header.payload.signature",
            "dpopKey": .string(try String(contentsOfFile: Self.dpopKeyPath, encoding: .utf8)),
        ]
        try JSONValue.object(object).jsonString.write(toFile: loginCachePath, atomically: true, encoding: .utf8)
    }

    /// The sign-in fake accepts `refreshToken` (once: it rotates) from `clientID` with a DPoP proof made with
    /// the test key; keys it issues live `ttl` seconds. With `error`, it refuses with that AccessDenied code.
    /// `keyFile` is the key the fake checks proofs against (the cache's, unless a test wants a mismatch).
    public func registerLogin(
        refreshToken: String, clientID: String, ttl: Int = 900, error: String? = nil, keyFile: String = dpopKeyPath
    ) throws {
        var query = ["refreshToken": refreshToken, "clientId": clientID, "keyFile": keyFile, "ttl": "\(ttl)"]
        if let error { query["error"] = error }
        try control("/_standin/login/session", query)
    }

    // MARK: Common arrangements

    /// The client id the arrangements below use for SSO OIDC, and the refresh token they register.
    public var ssoClientID: String { "client-\(unique)" }
    public var ssoRefreshToken: String { "refresh-\(unique)" }
    /// The client id and first refresh token of the login arrangement.
    public var loginClientID: String { "arn:aws:signin:::devtools/\(unique)" }
    public var loginRefreshToken: String { "r-\(unique)" }

    /// A session-form token `expiresIn` seconds from its end that the portal never took (a client that
    /// used it without refreshing fails), with a refresh token SSO OIDC takes once.
    public func expiringSSOToken(expiresIn: Double, roleTTL: Int = 3600) throws {
        try register(refreshToken: ssoRefreshToken, clientID: ssoClientID, roleTTL: roleTTL)
        try writeSSOToken(
            accessToken: "stale-\(unique)", expiresIn: expiresIn, refreshToken: ssoRefreshToken, clientID: ssoClientID)
    }

    /// A login cache whose keys (unknown to the stand-in) end in `expiresIn` seconds, and a sign-in session
    /// for it: refreshes give keys for `ttl` seconds, or fail with `error`; proofs are checked against
    /// `keyFile`.
    public func expiringLogin(
        expiresIn: Double, ttl: Int = 900, error: String? = nil, keyFile: String = dpopKeyPath
    ) throws {
        try writeLoginToken(
            accessKeyID: "ASIAOLDLOGINKEY", secretAccessKey: "old-secret", sessionToken: "old-token",
            expiresIn: expiresIn, refreshToken: loginRefreshToken, clientID: loginClientID)
        try registerLogin(
            refreshToken: loginRefreshToken, clientID: loginClientID, ttl: ttl, error: error, keyFile: keyFile)
    }

    // MARK: The fakes

    /// `{"portal:<token>": n, "oidc:<clientId>": n, "login:<clientId>": n}`.
    public func counts() throws -> JSONValue { try JSONValue.parse(try standIn.request("GET", "/_standin/counts")) }

    public func count(_ key: String) throws -> Int { Int(try counts()[key]?.intValue ?? 0) }

    private func control(_ path: String, _ query: [String: String]) throws {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encoded = query.sorted { $0.key < $1.key }.map {
            "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.value)"
        }
        _ = try standIn.request("POST", path + "?" + encoded.joined(separator: "&"))
    }
}
