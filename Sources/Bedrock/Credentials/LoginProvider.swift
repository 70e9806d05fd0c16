import Basics
import FoundationEssentials
import JSON

/// Console credentials from `aws login` (AWS CLI 2.32+), as botocore 1.43's LoginProvider gets them: a
/// profile with `login_session = NAME`, the cache file `<sha256 hex of NAME>.json` under
/// `AWS_LOGIN_CACHE_DIRECTORY` or `~/.aws/login/cache`, holding the AWS keys themselves. Within five minutes
/// of their expiry they are refreshed at the sign-in service's token endpoint with the cached refresh token
/// and a DPoP proof signed with the cached P-256 key; the file is re-read first (another process may have
/// refreshed it) and written back as the AWS CLI writes it.
package struct LoginProvider {
    let profile: String
    let sessionName: String
    /// Where the sign-in endpoint is: AWS_DEFAULT_REGION, else the profile's region (botocore's order), else
    /// AWS_REGION, else the backend's.
    let region: String
    let environment: [String: String]

    /// botocore refreshes when less than this many seconds remain.
    static let refreshThreshold: Double = 5 * 60

    /// Nil when the profile has no `login_session`.
    init?(profile: String, files: AWSSharedProfiles, region: String?, environment: [String: String]) {
        guard let settings = files.profiles[profile], let sessionName = settings["login_session"] else { return nil }
        self.profile = profile
        self.sessionName = sessionName
        self.region =
            nonEmpty(environment["AWS_DEFAULT_REGION"]) ?? nonEmpty(settings["region"])
            ?? nonEmpty(environment["AWS_REGION"]) ?? nonEmpty(region) ?? "us-east-1"
        self.environment = environment
    }

    var cachePath: String {
        let directory =
            environment["AWS_LOGIN_CACHE_DIRECTORY"].map { AWSCLICacheFile.expand($0, environment: environment) }
            ?? homeDirectory(environment: environment) + "/.aws/login/cache"
        return directory + "/" + SigV4.sha256Hex(Array(sessionName.utf8)) + ".json"
    }

    var tokenURL: String {
        CredentialHTTP.endpoint(
            service: "SIGNIN", default: "https://\(region).signin.aws.amazon.com", environment: environment)
            + "/v1/token"
    }

    private func failure(_ type: String, _ detail: String, hint: String? = nil) -> BedrockError {
        BedrockError.own(
            type, "The `aws login` session of profile '\(profile)' \(detail)",
            hint: hint ?? "Sign in again: `aws login --profile \(profile)`")
    }

    /// The keys in the cache, refreshed first when under five minutes remain; one refresh at a time per
    /// cache file in this process.
    func credentials() async throws(BedrockError) -> ResolvedCredentials {
        let provider = self
        return try await AWSCLICacheFile.serialized(cachePath) { () async throws(BedrockError) in
            try await provider.currentCredentials(now: Date())
        }
    }

    private func currentCredentials(now: Date) async throws(BedrockError) -> ResolvedCredentials {
        let path = cachePath
        guard let token = AWSCLICacheFile.read(path) else {
            throw failure(
                "LoginNotFound", "has no cache file \(path)", hint: "Sign in first: `aws login --profile \(profile)`")
        }
        var current = try keys(token, path: path)
        if let expiration = current.expiration, expiration.timeIntervalSince(now) <= Self.refreshThreshold {
            current = try await refresh(token, path: path, now: now)
        }
        return ResolvedCredentials(auth: .sigV4(current), source: "login:\(profile)")
    }

    /// The keys in a cache entry's `accessToken`.
    private func keys(_ token: JSONObject, path: String) throws(BedrockError) -> AWSCredentials {
        let access = token["accessToken"]
        guard let accessKey = nonEmpty(access?["accessKeyId"]?.stringValue),
            let secret = nonEmpty(access?["secretAccessKey"]?.stringValue)
        else {
            throw failure("LoginExpired", "has no accessToken keys in \(path)")
        }
        return AWSCredentials(
            accessKeyID: accessKey, secretAccessKey: secret,
            sessionToken: nonEmpty(access?["sessionToken"]?.stringValue),
            expiration: AWSCLICacheFile.date(access?["expiresAt"]?.stringValue))
    }

    private func refresh(_ token: JSONObject, path: String, now: Date) async throws(BedrockError) -> AWSCredentials {
        let missing = ["accessToken", "refreshToken", "dpopKey", "clientId"].filter { token[$0] == nil }
        guard missing.isEmpty else {
            throw failure(
                "LoginExpired", "cannot be refreshed: \(path) lacks " + missing.joined(separator: ", "))
        }
        guard let pem = token["dpopKey"]?.stringValue, let key = DPoPKey(pem: pem) else {
            throw failure("LoginExpired", "cannot be refreshed: the dpopKey in \(path) is not a P-256 private key")
        }
        let url = tokenURL
        guard let proof = key.proof(method: "POST", url: url, at: now) else {
            throw failure("LoginRefreshFailed", "cannot be refreshed: signing the DPoP proof failed")
        }
        let body: JSONValue = [
            "clientId": token["clientId"] ?? .null, "refreshToken": token["refreshToken"] ?? .null,
            "grantType": "refresh_token",
        ]
        let request = HTTPRequest(
            method: "POST", url: url, headers: [("Content-Type", "application/json"), ("DPoP", proof)],
            body: body.serialized(), connectTimeout: 5, idleTimeout: 10, caBundle: environment["AWS_CA_BUNDLE"])
        let response = try await CredentialHTTP.send(request, what: "Sign-in CreateOAuth2Token")
        guard response.status == 200 else { throw refreshError(response) }
        guard let updated = Self.refreshedEntry(token, answer: response.body, now: now) else {
            throw failure("LoginRefreshFailed", "could not be refreshed: the sign-in service answered without keys")
        }
        try AWSCLICacheFile.write(updated, to: path)
        return try keys(updated, path: path)
    }

    /// The cache entry after a refresh, as botocore's `token.update` makes it: `accessToken` (the new keys,
    /// the old accountId, expiresAt from expiresIn) and `refreshToken` replaced in place, every other field
    /// kept. Nil when the answer lacks keys, expiresIn or a refresh token. Separate so that it can be fuzzed.
    package static func refreshedEntry(_ token: JSONObject, answer body: [UInt8], now: Date) -> JSONObject? {
        guard let answer = try? JSONValue.parse(body), let access = answer["accessToken"],
            let expiresIn = answer["expiresIn"]?.intValue, let refreshToken = answer["refreshToken"]?.stringValue,
            nonEmpty(access["accessKeyId"]?.stringValue) != nil, nonEmpty(access["secretAccessKey"]?.stringValue) != nil
        else { return nil }
        var updated = token
        updated["accessToken"] = [
            "accessKeyId": access["accessKeyId"] ?? .null, "secretAccessKey": access["secretAccessKey"] ?? .null,
            "sessionToken": access["sessionToken"] ?? .null,
            "accountId": token["accessToken"]?["accountId"] ?? .null,
            "expiresAt": .string(AWSCLICacheFile.expiresAt(in: expiresIn, from: now)),
        ]
        updated["refreshToken"] = .string(refreshToken)
        return updated
    }

    /// The error kinds botocore tells apart, from `AccessDeniedException`'s `error` field.
    private func refreshError(_ response: HTTPResponse) -> BedrockError {
        let base = BedrockError.fromHTTP(status: response.status, headers: response.headers, body: response.body)
        let code = (try? JSONValue.parse(response.body))?["error"]?.stringValue ?? ""
        switch code {
        case "TOKEN_EXPIRED":
            return failure("LoginExpired", "has expired (\(base.message))")
        case "USER_CREDENTIALS_CHANGED":
            return failure("LoginCredentialsChanged", "ended because the user's credentials changed (\(base.message))")
        case "INSUFFICIENT_PERMISSIONS":
            return failure(
                "LoginInsufficientPermissions", "cannot be refreshed: \(base.message)",
                hint: "The signed-in identity needs permission for signin:CreateOAuth2Token (e.g. the "
                    + "SignInLocalDevelopmentAccess managed policy); then run `aws login --profile \(profile)`")
        default:
            var error = failure(
                "LoginRefreshFailed", "could not be refreshed: \(base.type): \(base.message)",
                hint: base.retryable
                    ? "The sign-in service failed: retry; if it persists run `aws login --profile \(profile)`"
                    : "Run `aws login --profile \(profile)`")
            error.httpStatus = response.status
            error.retryable = base.retryable
            return error
        }
    }
}
