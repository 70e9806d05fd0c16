import Basics
import FoundationEssentials
import JSON

/// The individual credential sources of `CredentialChain`. Each reads only the environment it is given.
/// Returns nil when the source is not configured; throws when it is configured but fails. Messages name
/// variables, files and profiles, never a key, secret or token.
package struct CredentialProviders: Sendable {
    var environment: [String: String]
    var region: String?

    // MARK: 1. The backend's apiKeyEnv blob

    func apiKeyEnv(_ variable: String) throws(BedrockError) -> ResolvedCredentials {
        guard let raw = nonEmpty(environment[variable]) else {
            throw BedrockError.own(
                "CredentialsNotFound",
                "The backend reads its credentials from $\(variable), which is not set",
                hint: "Export \(variable)='{\"AccessKeyID\":\"...\",\"SecretAccessKey\":\"...\"}' (SessionToken "
                    + "optional) in the environment contenox runs in, or remove apiKeyEnv from the backend")
        }
        let credentials = try Self.credentials(fromAPIKeyBlob: raw, variable: variable)
        return ResolvedCredentials(auth: .sigV4(credentials), source: "api-key-env:\(variable)")
    }

    /// The credentials in an apiKeyEnv variable's JSON object. Field names are compared without case and
    /// underscores: AccessKeyID, AccessKeyId, access_key_id and accessKeyId all name the access key.
    package static func credentials(fromAPIKeyBlob raw: String, variable: String) throws(BedrockError)
        -> AWSCredentials
    {
        let malformed = BedrockError.own(
            "CredentialsInvalid",
            "$\(variable) does not hold a JSON object with AccessKeyID and SecretAccessKey",
            hint: "Set \(variable) to {\"AccessKeyID\":\"...\",\"SecretAccessKey\":\"...\",\"SessionToken\":\"...\"} "
                + "(or access_key_id/secret_access_key/session_token)")
        guard let object = (try? JSONValue.parse(raw))?.objectValue else { throw malformed }
        func field(_ name: String) -> String? {
            for (key, value) in object where key.replacing("_", with: "").lowercased() == name {
                return nonEmpty(value.stringValue)
            }
            return nil
        }
        guard let accessKey = field("accesskeyid"), let secret = field("secretaccesskey") else { throw malformed }
        return AWSCredentials(
            accessKeyID: accessKey, secretAccessKey: secret, sessionToken: field("sessiontoken"),
            expiration: field("expiration").flatMap(parseAWSDate))
    }

    // MARK: 2. Bedrock API key

    func bearerToken() throws(BedrockError) -> ResolvedCredentials? {
        guard let token = nonEmpty(environment["AWS_BEARER_TOKEN_BEDROCK"]) else { return nil }
        return ResolvedCredentials(auth: .bearer(token), source: "bearer-token")
    }

    // MARK: 3. Environment keys

    func environmentKeys() throws(BedrockError) -> ResolvedCredentials? {
        let accessKey = nonEmpty(environment["AWS_ACCESS_KEY_ID"])
        let secret = nonEmpty(environment["AWS_SECRET_ACCESS_KEY"])
        switch (accessKey, secret) {
        case (nil, nil):
            return nil
        case (let accessKey?, let secret?):
            let credentials = AWSCredentials(
                accessKeyID: accessKey, secretAccessKey: secret,
                sessionToken: nonEmpty(environment["AWS_SESSION_TOKEN"]),
                expiration: nonEmpty(environment["AWS_CREDENTIAL_EXPIRATION"]).flatMap(parseAWSDate))
            return ResolvedCredentials(auth: .sigV4(credentials), source: "environment")
        default:
            throw BedrockError.own(
                "CredentialsInvalid",
                "Only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set",
                hint: "Set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or unset both to use a profile")
        }
    }

    // MARK: 4. Web identity

    func webIdentity() async throws(BedrockError) -> ResolvedCredentials? {
        guard let tokenFile = nonEmpty(environment["AWS_WEB_IDENTITY_TOKEN_FILE"]),
            let roleARN = nonEmpty(environment["AWS_ROLE_ARN"])
        else { return nil }
        guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
            throw BedrockError.own(
                "CredentialsInvalid", "Cannot read the web identity token file \(tokenFile)",
                hint: "Check AWS_WEB_IDENTITY_TOKEN_FILE points at a readable token file")
        }
        let sessionName =
            nonEmpty(environment["AWS_ROLE_SESSION_NAME"]) ?? "contenox-\(Int(Date().timeIntervalSince1970))"
        let sts = STSClient(environment: environment, region: stsRegion(profileRegion: nil))
        let credentials = try await sts.assumeRoleWithWebIdentity(
            roleARN: roleARN, sessionName: sessionName,
            token: token.trimmingWhitespaceAndNewlines())
        return ResolvedCredentials(auth: .sigV4(credentials), source: "web-identity")
    }

    // MARK: 5. Shared config/credentials files

    func profileNote() -> String {
        let (name, _) = AWSSharedProfiles.selectedProfile(environment: environment)
        let files = AWSSharedProfiles.load(environment: environment)
        return "profile:\(name) (no credentials for it in \(files.credentialsPath) or \(files.configPath))"
    }

    func profile() async throws(BedrockError) -> ResolvedCredentials? {
        let (name, explicit) = AWSSharedProfiles.selectedProfile(environment: environment)
        let files = AWSSharedProfiles.load(environment: environment)
        guard files.profiles[name] != nil else {
            if explicit {
                throw BedrockError.own(
                    "CredentialsNotFound",
                    "The profile '\(name)' (from AWS_PROFILE) is not in \(files.configPath) or "
                        + files.credentialsPath,
                    hint: "Check the profile name with `aws configure list-profiles`, or unset AWS_PROFILE")
            }
            return nil
        }
        return try await credentials(forProfile: name, files: files, depth: 0)
    }

    private func credentials(forProfile name: String, files: AWSSharedProfiles, depth: Int)
        async throws(BedrockError) -> ResolvedCredentials?
    {
        guard let settings = files.profiles[name] else {
            throw BedrockError.own(
                "CredentialsNotFound", "The source profile '\(name)' does not exist",
                hint: "Fix source_profile in \(files.configPath)")
        }
        if let roleARN = nonEmpty(settings["role_arn"]) {
            guard depth < 5 else {
                throw BedrockError.own(
                    "CredentialsInvalid", "Profile '\(name)': role_arn/source_profile chain is too long or circular")
            }
            let sourceCredentials: AWSCredentials
            if let sourceName = nonEmpty(settings["source_profile"]) {
                // A profile that is its own source uses its static keys (the CLI's rule).
                let source: ResolvedCredentials?
                if sourceName == name {
                    source = try staticKeys(settings, profile: name)
                } else {
                    source = try await credentials(forProfile: sourceName, files: files, depth: depth + 1)
                }
                guard let source, case .sigV4(let c) = source.auth else {
                    throw BedrockError.own(
                        "CredentialsNotFound", "Profile '\(name)': source profile '\(sourceName)' has no credentials",
                        hint: "Give profile '\(sourceName)' aws_access_key_id/aws_secret_access_key")
                }
                sourceCredentials = c
            } else if let credentialSource = nonEmpty(settings["credential_source"]) {
                let found: ResolvedCredentials?
                switch credentialSource {
                case "Environment": found = try environmentKeys()
                case "EcsContainer": found = try await container()
                case "Ec2InstanceMetadata": found = try await imds()
                default:
                    throw BedrockError.own(
                        "CredentialsInvalid", "Profile '\(name)': unknown credential_source '\(credentialSource)'")
                }
                guard let found, case .sigV4(let c) = found.auth else {
                    throw BedrockError.own(
                        "CredentialsNotFound", "Profile '\(name)': credential_source \(credentialSource) found nothing")
                }
                sourceCredentials = c
            } else {
                throw BedrockError.own(
                    "CredentialsInvalid", "Profile '\(name)' has role_arn but no source_profile or credential_source",
                    hint: "Add source_profile = <profile with keys> to profile '\(name)'")
            }
            let sts = STSClient(environment: environment, region: stsRegion(profileRegion: settings["region"]))
            let assumed = try await sts.assumeRole(
                roleARN: roleARN,
                sessionName: nonEmpty(settings["role_session_name"]) ?? "contenox-\(Int(Date().timeIntervalSince1970))",
                externalID: nonEmpty(settings["external_id"]), credentials: sourceCredentials)
            return ResolvedCredentials(auth: .sigV4(assumed), source: "assume-role:\(name)")
        }
        // botocore's order after role_arn: SSO, the credentials file's keys, `aws login`, credential_process,
        // the config file's keys.
        if let sso = try SSOProvider(profile: name, files: files, environment: environment) {
            return try await sso.credentials()
        }
        if let fromCredentialsFile = files.credentialsFileProfiles[name],
            let found = try staticKeys(fromCredentialsFile, profile: name)
        {
            return found
        }
        if let login = LoginProvider(profile: name, files: files, region: region, environment: environment) {
            return try await login.credentials()
        }
        if let command = nonEmpty(settings["credential_process"]) {
            let credentials = try await CredentialProcess.run(command, profile: name, environment: environment)
            return ResolvedCredentials(auth: .sigV4(credentials), source: "credential-process:\(name)")
        }
        return try staticKeys(settings, profile: name)
    }

    private func staticKeys(_ settings: [String: String], profile: String) throws(BedrockError) -> ResolvedCredentials?
    {
        let accessKey = nonEmpty(settings["aws_access_key_id"])
        let secret = nonEmpty(settings["aws_secret_access_key"])
        guard let accessKey, let secret else {
            if accessKey != nil || secret != nil {
                throw BedrockError.own(
                    "CredentialsInvalid",
                    "Profile '\(profile)' has only one of aws_access_key_id and aws_secret_access_key")
            }
            return nil
        }
        let credentials = AWSCredentials(
            accessKeyID: accessKey, secretAccessKey: secret, sessionToken: nonEmpty(settings["aws_session_token"]))
        return ResolvedCredentials(auth: .sigV4(credentials), source: "profile:\(profile)")
    }

    /// The region STS is called in: the profile's, the chain's, AWS_REGION, AWS_DEFAULT_REGION, us-east-1.
    private func stsRegion(profileRegion: String?) -> String {
        nonEmpty(profileRegion) ?? nonEmpty(region) ?? nonEmpty(environment["AWS_REGION"])
            ?? nonEmpty(environment["AWS_DEFAULT_REGION"]) ?? "us-east-1"
    }

    // MARK: 6. Container credentials

    func container() async throws(BedrockError) -> ResolvedCredentials? {
        let url: String
        if let relative = nonEmpty(environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]) {
            url = "http://169.254.170.2" + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = nonEmpty(environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"]) {
            url = full
        } else {
            return nil
        }
        var headers: [(String, String)] = []
        if let tokenFile = nonEmpty(environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]) {
            guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw BedrockError.own(
                    "CredentialsInvalid", "Cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (\(tokenFile))")
            }
            headers.append(("Authorization", token.trimmingWhitespaceAndNewlines()))
        } else if let token = nonEmpty(environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]) {
            headers.append(("Authorization", token))
        }
        let request = HTTPRequest(
            method: "GET", url: url, headers: headers, connectTimeout: 2, idleTimeout: 5,
            caBundle: environment["AWS_CA_BUNDLE"])
        let response: HTTPResponse
        do {
            response = try await HTTPTransport.send(request, maxBodyBytes: 1 << 20)
        } catch {
            throw BedrockError.own(
                "CredentialsNotFound", "The container credentials endpoint failed: \(error.message)",
                hint: "Check AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI and the task or pod role")
        }
        guard response.status == 200 else {
            throw BedrockError.own(
                "CredentialsNotFound", "The container credentials endpoint answered HTTP \(response.status)",
                hint: "Check AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE) and the task or pod role")
        }
        return ResolvedCredentials(
            auth: .sigV4(try Self.temporaryCredentials(fromJSON: response.body, what: "container credentials")),
            source: "container")
    }

    // MARK: 7. EC2 instance metadata (IMDSv2)

    func imdsNote() -> String {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" {
            return "imds (disabled by AWS_EC2_METADATA_DISABLED)"
        }
        return "imds (no instance role at \(imdsEndpoint))"
    }

    private var imdsEndpoint: String {
        var endpoint = nonEmpty(environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"]) ?? "http://169.254.169.254"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        return endpoint
    }

    /// How long each IMDS request may take and how many times it is tried, as botocore reads them:
    /// `AWS_METADATA_SERVICE_TIMEOUT` seconds (default 1) and `AWS_METADATA_SERVICE_NUM_ATTEMPTS` (default
    /// 1, at most 10); a value that is not a positive number is the default.
    static func metadataServiceSettings(_ environment: [String: String]) -> (timeout: Double, attempts: Int) {
        let timeout = nonEmpty(environment["AWS_METADATA_SERVICE_TIMEOUT"]).flatMap(Double.init)
        let attempts = nonEmpty(environment["AWS_METADATA_SERVICE_NUM_ATTEMPTS"]).flatMap { Int($0) }
        return (
            timeout.flatMap { $0 > 0 && $0.isFinite ? $0 : nil } ?? 1,
            attempts.flatMap { $0 >= 1 ? min($0, 10) : nil } ?? 1
        )
    }

    func imds() async throws(BedrockError) -> ResolvedCredentials? {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
        let base = imdsEndpoint
        let (timeout, attempts) = Self.metadataServiceSettings(environment)
        func get(_ method: String, _ path: String, _ headers: [(String, String)]) async -> HTTPResponse? {
            let request = HTTPRequest(
                method: method, url: base + path, headers: headers, connectTimeout: timeout, idleTimeout: timeout)
            for _ in 0..<attempts {
                if let response = try? await HTTPTransport.send(request, maxBodyBytes: 1 << 20),
                    response.status == 200
                {
                    return response
                }
            }
            return nil
        }
        // Not on EC2 (or no role): fall through quietly, as the SDKs do.
        guard
            let tokenResponse = await get(
                "PUT", "/latest/api/token", [("x-aws-ec2-metadata-token-ttl-seconds", "21600")])
        else { return nil }
        let token = String(decoding: tokenResponse.body, as: UTF8.self)
        let auth = [("x-aws-ec2-metadata-token", token)]
        guard let roles = await get("GET", "/latest/meta-data/iam/security-credentials/", auth),
            let role = String(decoding: roles.body, as: UTF8.self).split(whereSeparator: \.isNewline).first
        else { return nil }
        let rolePath = "/latest/meta-data/iam/security-credentials/" + SigV4.percentEncodePathSegment(String(role))
        guard let answer = await get("GET", rolePath, auth) else {
            throw BedrockError.own(
                "CredentialsNotFound", "Instance metadata lists role '\(role)' but would not give its credentials")
        }
        return ResolvedCredentials(
            auth: .sigV4(try Self.temporaryCredentials(fromJSON: answer.body, what: "instance metadata")),
            source: "imds")
    }

    /// {AccessKeyId, SecretAccessKey, Token, Expiration}, as the container and IMDS endpoints answer.
    package static func temporaryCredentials(fromJSON body: [UInt8], what: String) throws(BedrockError)
        -> AWSCredentials
    {
        guard let json = try? JSONValue.parse(body), let accessKey = nonEmpty(json["AccessKeyId"]?.stringValue),
            let secret = nonEmpty(json["SecretAccessKey"]?.stringValue)
        else {
            throw BedrockError.own("CredentialsInvalid", "The \(what) answer has no AccessKeyId/SecretAccessKey")
        }
        return AWSCredentials(
            accessKeyID: accessKey, secretAccessKey: secret,
            sessionToken: nonEmpty(json["Token"]?.stringValue) ?? nonEmpty(json["SessionToken"]?.stringValue),
            expiration: json["Expiration"]?.stringValue.flatMap(parseAWSDate))
    }
}

/// "2026-11-25T08:00:00Z", with or without fractional seconds, or with an offset.
package func parseAWSDate(_ text: String) -> Date? {
    Date(iso8601: text)
}
