import Basics
import FoundationEssentials
import JSON

/// IAM Identity Center (SSO) role credentials for a profile, as botocore 1.43's SSOProvider gets them:
/// the access token `aws sso login` cached in `~/.aws/sso/cache/<sha1 hex>.json`, refreshed through SSO OIDC
/// CreateToken when it is near expiry (sso-session form only), then the portal's GetRoleCredentials.
///
/// Two profile forms: `sso_session = NAME` with `[sso-session NAME]` holding `sso_start_url` and
/// `sso_region` (the cache file is named after the session), and the legacy form with both in the profile
/// (named after the start URL; its token is never refreshed). Only the token cache file is written, as
/// the AWS CLI writes it; role credentials stay in memory (the chain caches them until shortly before
/// they expire).
package struct SSOProvider {
    let profile: String
    let startURL: String
    let ssoRegion: String
    let accountID: String
    let roleName: String
    /// The sso-session's name; nil for the legacy form.
    let sessionName: String?
    let environment: [String: String]

    /// botocore refreshes a token this many seconds before it expires.
    static let refreshWindow: Double = 15 * 60

    /// Nil when the profile names neither `sso_account_id` nor `sso_role_name` (it does not use SSO
    /// credentials); throws when it does but the configuration is incomplete or inconsistent.
    init?(profile: String, files: AWSSharedProfiles, environment: [String: String]) throws(BedrockError) {
        guard var settings = files.profiles[profile],
            settings["sso_account_id"] != nil || settings["sso_role_name"] != nil
        else { return nil }
        let sessionName = settings["sso_session"]
        if let sessionName {
            guard let session = files.ssoSessions[sessionName] else {
                throw BedrockError.own(
                    "CredentialsInvalid",
                    "Profile '\(profile)' names sso_session '\(sessionName)', which has no [sso-session "
                        + "\(sessionName)] section in \(files.configPath)",
                    hint: "Add the [sso-session \(sessionName)] section (`aws configure sso-session`) or fix "
                        + "sso_session in the profile")
            }
            for (key, value) in session {
                if let own = settings[key], own != value {
                    throw BedrockError.own(
                        "CredentialsInvalid",
                        "Profile '\(profile)' sets \(key) to \(own) but its sso-session '\(sessionName)' sets "
                            + value,
                        hint: "Remove \(key) from the profile or make the two agree")
                }
                settings[key] = value
            }
        }
        var required = ["sso_role_name", "sso_account_id", "sso_start_url", "sso_region"]
        if sessionName != nil { required.append("sso_session") }
        let missing = required.filter { settings[$0] == nil }
        guard missing.isEmpty else {
            throw BedrockError.own(
                "CredentialsInvalid",
                "Profile '\(profile)' is configured to use SSO but is missing " + missing.joined(separator: ", "),
                hint: "Run `aws configure sso --profile \(profile)` or add the missing settings")
        }
        self.profile = profile
        self.startURL = settings["sso_start_url"] ?? ""
        self.ssoRegion = settings["sso_region"] ?? ""
        self.accountID = settings["sso_account_id"] ?? ""
        self.roleName = settings["sso_role_name"] ?? ""
        self.sessionName = sessionName
        self.environment = environment
    }

    /// `~/.aws/sso/cache/<sha1 hex of the session name, or of the start URL>.json`.
    var tokenCachePath: String {
        homeDirectory(environment: environment) + "/.aws/sso/cache/"
            + AWSCLICacheFile.sha1Hex(sessionName ?? startURL) + ".json"
    }

    func credentials() async throws(BedrockError) -> ResolvedCredentials {
        let token = try await accessToken()
        return ResolvedCredentials(auth: .sigV4(try await roleCredentials(token: token)), source: "sso:\(profile)")
    }

    // MARK: The token

    private func expired(_ detail: String) -> BedrockError {
        BedrockError.own(
            "SSOTokenExpired", "The IAM Identity Center session of profile '\(profile)' \(detail)",
            hint: "Sign in again: `aws sso login --profile \(profile)`")
    }

    /// The cached access token, refreshed first when it is within the refresh window (botocore's rules);
    /// one refresh at a time per cache file in this process.
    func accessToken() async throws(BedrockError) -> String {
        let provider = self
        return try await AWSCLICacheFile.serialized(tokenCachePath) { () async throws(BedrockError) in
            try await provider.currentToken(now: Date())
        }
    }

    private func currentToken(now: Date) async throws(BedrockError) -> String {
        let path = tokenCachePath
        guard let cached = AWSCLICacheFile.read(path) else {
            throw BedrockError.own(
                "SSOTokenNotFound",
                "No IAM Identity Center token for \(sessionName.map { "sso-session '\($0)'" } ?? startURL) "
                    + "(profile '\(profile)') in \(path)",
                hint: "Sign in first: `aws sso login --profile \(profile)`")
        }
        guard var token = nonEmpty(cached["accessToken"]?.stringValue),
            var expiresAt = AWSCLICacheFile.date(cached["expiresAt"]?.stringValue)
        else {
            throw expired("has an unreadable token in \(path) (no accessToken or expiresAt)")
        }
        var refreshFailure = ""
        if sessionName != nil, expiresAt.timeIntervalSince(now) < Self.refreshWindow {
            switch await refreshed(cached, now: now) {
            case .success(let fresh):
                try AWSCLICacheFile.write(fresh, to: path)
                token = fresh["accessToken"]?.stringValue ?? token
                expiresAt = AWSCLICacheFile.date(fresh["expiresAt"]?.stringValue) ?? expiresAt
            case .failure(let reason):
                // The network, not the session, failed: say so (a retry may work) rather than send the
                // user to sign in again.
                if expiresAt <= now, reason.type == "ConnectionFailed" || reason.type == "Timeout" { throw reason }
                refreshFailure = " and could not be refreshed (\(reason.message))"
            }
        }
        guard expiresAt > now else {
            throw expired("expired at \(AWSCLICacheFile.timestamp(expiresAt))" + refreshFailure)
        }
        return token
    }

    /// The cache entry after SSO OIDC CreateToken with the refresh grant, in the AWS CLI's key order:
    /// startUrl, region, accessToken, expiresAt, clientId, clientSecret, registrationExpiresAt and, when the
    /// answer has one, refreshToken. A failure is returned, not thrown: as in botocore, a token that is
    /// still valid is used while a refresh fails.
    private func refreshed(_ cached: JSONObject, now: Date) async -> Result<JSONObject, BedrockError> {
        guard let refreshToken = nonEmpty(cached["refreshToken"]?.stringValue),
            let clientID = nonEmpty(cached["clientId"]?.stringValue),
            let clientSecret = nonEmpty(cached["clientSecret"]?.stringValue),
            let registrationExpiresAt = cached["registrationExpiresAt"]?.stringValue
        else { return .failure(.own("SSOTokenExpired", "the cache holds no refresh token or client registration")) }
        guard let registrationEnd = AWSCLICacheFile.date(registrationExpiresAt), registrationEnd > now else {
            return .failure(.own("SSOTokenExpired", "the client registration expired at \(registrationExpiresAt)"))
        }
        let body: JSONValue = [
            "clientId": .string(clientID), "clientSecret": .string(clientSecret), "grantType": "refresh_token",
            "refreshToken": .string(refreshToken),
        ]
        let url =
            CredentialHTTP.endpoint(
                service: "SSO_OIDC", default: "https://oidc.\(ssoRegion).amazonaws.com", environment: environment)
            + "/token"
        let request = HTTPRequest(
            method: "POST", url: url, headers: [("Content-Type", "application/json")], body: body.serialized(),
            connectTimeout: 5, idleTimeout: 10, caBundle: environment["AWS_CA_BUNDLE"])
        let response: HTTPResponse
        do {
            response = try await CredentialHTTP.send(request, what: "SSO OIDC CreateToken")
        } catch {
            return .failure(error)
        }
        guard response.status == 200 else {
            let json = try? JSONValue.parse(response.body)
            let reason =
                nonEmpty(json?["error_description"]?.stringValue) ?? nonEmpty(json?["error"]?.stringValue)
                ?? nonEmpty(json?["message"]?.stringValue) ?? "HTTP \(response.status)"
            return .failure(.own("SSOTokenExpired", "SSO OIDC CreateToken answered \(response.status): \(reason)"))
        }
        guard let answer = try? JSONValue.parse(response.body), let accessToken = answer["accessToken"]?.stringValue,
            let expiresIn = answer["expiresIn"]?.intValue
        else { return .failure(.own("SSOTokenExpired", "SSO OIDC CreateToken answered without a token")) }
        var fresh: JSONObject = [
            "startUrl": .string(startURL), "region": .string(ssoRegion), "accessToken": .string(accessToken),
            "expiresAt": .string(AWSCLICacheFile.expiresAt(in: expiresIn, from: now)),
            "clientId": .string(clientID), "clientSecret": .string(clientSecret),
            "registrationExpiresAt": .string(registrationExpiresAt),
        ]
        if let newRefreshToken = answer["refreshToken"]?.stringValue {
            fresh["refreshToken"] = .string(newRefreshToken)
        }
        return .success(fresh)
    }

    // MARK: The role credentials

    /// The portal's GetRoleCredentials: `GET /federation/credentials?account_id=&role_name=` with the token
    /// in `x-amz-sso_bearer_token`; `roleCredentials.expiration` is in milliseconds since 1970.
    func roleCredentials(token: String) async throws(BedrockError) -> AWSCredentials {
        let base = CredentialHTTP.endpoint(
            service: "SSO", default: "https://portal.sso.\(ssoRegion).amazonaws.com", environment: environment)
        let url =
            base + "/federation/credentials?account_id=\(SigV4.percentEncodePathSegment(accountID))"
            + "&role_name=\(SigV4.percentEncodePathSegment(roleName))"
        let what = "IAM Identity Center GetRoleCredentials for role \(roleName) in account \(accountID)"
        let request = HTTPRequest(
            method: "GET", url: url, headers: [("x-amz-sso_bearer_token", token)], connectTimeout: 5,
            idleTimeout: 10, caBundle: environment["AWS_CA_BUNDLE"])
        let response = try await CredentialHTTP.send(request, what: what)
        guard response.status == 200 else {
            var error = BedrockError.fromHTTP(status: response.status, headers: response.headers, body: response.body)
            if response.status == 401 || BedrockError.normalized(error.type) == "unauthorized" {
                throw expired("was rejected by the portal (\(error.message))")
            }
            error.message = "\(what): \(error.message)"
            if response.status == 403 || response.status == 404 {
                error.hint =
                    "Check sso_account_id and sso_role_name of profile '\(profile)': the role must be assigned to "
                    + "you (`aws sso list-account-roles --profile \(profile)`)"
            }
            throw error
        }
        return try Self.roleCredentials(fromAnswer: response.body, what: what)
    }

    /// The keys in a GetRoleCredentials answer: `roleCredentials` with `expiration` in milliseconds since
    /// 1970. Separate from the call so that it can be fuzzed.
    package static func roleCredentials(fromAnswer body: [UInt8], what: String) throws(BedrockError)
        -> AWSCredentials
    {
        let role = (try? JSONValue.parse(body))?["roleCredentials"]
        guard let accessKey = nonEmpty(role?["accessKeyId"]?.stringValue),
            let secret = nonEmpty(role?["secretAccessKey"]?.stringValue)
        else {
            throw BedrockError.own("InvalidResponse", "\(what): the answer holds no roleCredentials")
        }
        return AWSCredentials(
            accessKeyID: accessKey, secretAccessKey: secret, sessionToken: nonEmpty(role?["sessionToken"]?.stringValue),
            expiration: role?["expiration"]?.doubleValue.map { Date(timeIntervalSince1970: $0 / 1000) })
    }
}
