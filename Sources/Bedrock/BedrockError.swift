import Basics
import JSON

/// Every failure the Bedrock module reports: an AWS error type (as Bedrock names it) or one of our own,
/// with what a person can do about it.
public struct BedrockError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is, for code that decides what to do (retry, refresh credentials, report as
    /// cancelled) and for the wire codes of each surface. Open: a kind is its name; the known ones are static
    /// members. Decided once, from the catalog, when the error is made; nothing compares `type` strings.
    public struct Kind: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// An error answer from AWS not singled out below (AccessDenied, Throttling, ResourceNotFound, ...).
        public static let service = Kind(rawValue: "service")
        /// AWS's ValidationException: the request itself is wrong (incl. on-demand throughput not supported).
        public static let validation = Kind(rawValue: "validation")
        /// AWS's ExpiredTokenException: the session credentials ran out; they are looked up again.
        public static let expiredCredentials = Kind(rawValue: "expiredCredentials")
        /// No credential source is configured.
        public static let credentialsNotFound = Kind(rawValue: "credentialsNotFound")
        /// A configured credential source is broken (bad JSON in --api-key-env, a failing credential_process...).
        public static let credentialsInvalid = Kind(rawValue: "credentialsInvalid")
        /// The backend or model is not set up (no region, an endpoint that is no endpoint, ...).
        public static let configuration = Kind(rawValue: "configuration")
        /// The request could not be built from what was given.
        public static let invalidRequest = Kind(rawValue: "invalidRequest")
        /// The endpoint could not be reached, or the connection broke.
        public static let connectionFailed = Kind(rawValue: "connectionFailed")
        /// The endpoint sent nothing for longer than the idle timeout.
        public static let timeout = Kind(rawValue: "timeout")
        /// The event stream was damaged (bad checksum or framing) or cut inside an event.
        public static let streamCorrupt = Kind(rawValue: "streamCorrupt")
        /// The endpoint answered something that is not Bedrock's format.
        public static let invalidResponse = Kind(rawValue: "invalidResponse")
        /// The caller cancelled the request.
        public static let cancelled = Kind(rawValue: "cancelled")

        public var description: String { rawValue }
    }

    public var kind: Kind
    /// The AWS error type ("AccessDeniedException", "modelStreamErrorException", ...) or our own
    /// ("CredentialsNotFound", "StreamCorrupt", "ConnectionFailed", "Timeout", "Cancelled", ...).
    public var type: String
    public var message: String
    public var httpStatus: Int?
    public var requestID: String?
    /// Whether the same request may succeed if sent again (the SDKs' standard retry mode's rules).
    public var retryable: Bool
    /// What a person troubleshooting should do next.
    public var hint: String

    public init(
        type: String, message: String, httpStatus: Int? = nil, requestID: String? = nil, retryable: Bool,
        hint: String, kind: Kind? = nil
    ) {
        self.kind = kind ?? BedrockError.entry(for: type, httpStatus: httpStatus).kind
        self.type = type
        self.message = message
        self.httpStatus = httpStatus
        self.requestID = requestID
        self.retryable = retryable
        self.hint = hint
    }

    /// An error whose retryable flag and hint come from the table in `BedrockError.catalog`.
    /// `modelID` and `region` let hints name the exact fix (e.g. the inference-profile id to use).
    public init(
        type: String, message: String, httpStatus: Int? = nil, requestID: String? = nil, modelID: String? = nil,
        region: String? = nil
    ) {
        let entry = BedrockError.entry(for: type, httpStatus: httpStatus)
        var hint = entry.hint
        if entry.kind == .validation, message.lowercased().contains("on-demand throughput") {
            hint = BedrockError.inferenceProfileHint(modelID: modelID, region: region)
        } else if entry.kind == .validation, message.lowercased().contains("support counting tokens") {
            hint =
                "This model has no CountTokens API: count with the base id of a model that has it (Anthropic "
                + "Claude models), or read the inputTokens a chat reports in its usage."
        } else if entry.kind == .validation, message.lowercased().contains("model identifier is invalid") {
            hint = "Check the model id (list the ids this account can use with `contenox model list --live`)."
        }
        self.init(
            type: type, message: message, httpStatus: httpStatus, requestID: requestID, retryable: entry.retryable,
            hint: hint, kind: entry.kind)
    }

    /// The answer of a model (or profile) that does not cache prompts to a request with cache points
    /// (most reports: 403 AccessDeniedException; some: 400 ValidationException).
    public var refusesPromptCaching: Bool {
        (kind == .service || kind == .validation) && message.lowercased().contains("prompt caching")
    }

    public var description: String {
        var s = "\(type): \(message)"
        if let httpStatus { s += " (HTTP \(httpStatus))" }
        if let requestID { s += " [request id \(requestID)]" }
        if !hint.isEmpty { s += " Hint: \(hint)" }
        return s
    }

    /// `{type, message, httpStatus?, requestId?, retryable, hint}`: the `data` of a protocol error.
    public var json: JSONValue {
        var o: JSONObject = ["type": .string(type), "message": .string(message)]
        if let httpStatus { o["httpStatus"] = .int(Int64(httpStatus)) }
        if let requestID { o["requestId"] = .string(requestID) }
        o["retryable"] = .bool(retryable)
        o["hint"] = .string(hint)
        return .object(o)
    }
}

// MARK: - The table

extension BedrockError {
    /// Retryability and hint for one error type.
    public struct CatalogEntry: Sendable, Equatable {
        public var kind: Kind = .service
        public var retryable: Bool
        public var hint: String
    }

    /// The one table of error types: AWS's (pre-stream, PascalCase; in-stream, camelCase, both looked up
    /// without case and without the "Exception" suffix) and our own.
    public static let catalog: [String: CatalogEntry] = [
        // Errors before the stream (bedrock-notes.md).
        "AccessDeniedException": .init(
            retryable: false,
            hint: "Enable the model for this account and region under Model access in the Amazon Bedrock console "
                + "(or check the IAM policy allows bedrock:InvokeModelWithResponseStream)"),
        "ValidationException": .init(
            kind: .validation,
            retryable: false,
            hint: "Check the request: the model id, a conversation that starts with a user message and alternates "
                + "roles, no blank text, and a toolConfig when the history holds tool use or tool results"),
        "UnrecognizedClientException": .init(
            retryable: false,
            hint: "The access key is not recognised: check the keys (AWS_ACCESS_KEY_ID, the profile, --api-key-env) "
                + "and that the endpoint's region is one where this account can sign in"),
        "InvalidSignatureException": .init(
            retryable: false,
            hint: "The signature did not match: the secret key is wrong for this access key, or the backend's region "
                + "differs from the endpoint's region; check the credentials and the region"),
        "ExpiredTokenException": .init(
            kind: .expiredCredentials,
            retryable: false,
            hint: "The session credentials have expired: refresh them (`aws sso login`, or get a new session token) "
                + "and try again"),
        "ResourceNotFoundException": .init(
            retryable: false,
            hint: "The model or resource does not exist in this region: check the model id and the region "
                + "(`contenox model list --live`)"),
        "ThrottlingException": .init(
            retryable: true,
            hint: "Bedrock is throttling this account: retry later, send fewer requests or tokens, or request a "
                + "quota increase in Service Quotas"),
        "ModelTimeoutException": .init(
            retryable: false,
            hint: "The model took too long to answer: try a shorter prompt or a lower maxTokens"),
        "ModelNotReadyException": .init(
            retryable: true, hint: "The model is not ready to serve yet: retry in a few seconds"),
        "ServiceUnavailableException": .init(
            retryable: true, hint: "Bedrock is temporarily unavailable: retry in a little while"),
        "InternalServerException": .init(
            retryable: true,
            hint: "Bedrock had an internal error: retry; if it persists, contact AWS Support with the request id"),
        "ModelErrorException": .init(
            retryable: false, hint: "The model failed while processing the request: retry, or try another model"),
        "ServiceQuotaExceededException": .init(
            retryable: false, hint: "A service quota is exhausted: request a quota increase in Service Quotas"),
        "ConflictException": .init(retryable: false, hint: "The resource is being changed: retry once it settles"),
        "IncompleteSignatureException": .init(
            retryable: false, hint: "The request signature is incomplete: check the credentials and the clock"),
        "MissingAuthenticationTokenException": .init(
            retryable: false, hint: "The request was not signed: configure credentials"),
        // In-stream exceptions (the camelCase forms fold onto the rows above, except this one).
        "modelStreamErrorException": .init(
            retryable: false,
            hint: "The model failed while streaming its answer: retry, or try another model"),
        // Our own.
        "CredentialsNotFound": .init(
            kind: .credentialsNotFound,
            retryable: false,
            hint: "Set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or --api-key-env; check with "
                + "`aws sts get-caller-identity`"),
        "StreamCorrupt": .init(
            kind: .streamCorrupt,
            retryable: false,
            hint: "The response stream was damaged (bad checksum or framing): retry; if it repeats, check for a "
                + "proxy or network device rewriting the response"),
        "ConnectionFailed": .init(
            kind: .connectionFailed,
            retryable: true,
            hint: "Could not reach the endpoint: check the backend URL, the network, and any proxy settings "
                + "(HTTPS_PROXY, NO_PROXY)"),
        "Timeout": .init(
            kind: .timeout,
            retryable: true,
            hint: "The endpoint stopped sending data: check the network and proxy, or retry"),
        "Cancelled": .init(kind: .cancelled, retryable: false, hint: "The request was cancelled"),
        "BackendNotFound": .init(
            kind: .configuration,
            retryable: false,
            hint:
                "Add the backend with `contenox backend add NAME --type bedrock --url REGION`, or list them with `contenox backend list`"
        ),
        "ModelNotSet": .init(
            kind: .configuration,
            retryable: false, hint: "Pass a model, or set one with `contenox config set default-model <id>`"),
        "RegionNotSet": .init(
            kind: .configuration,
            retryable: false,
            hint: "Give the backend a region (a bare region or a regional URL), or set AWS_REGION, or set region "
                + "in the AWS profile"),
        "InvalidEndpoint": .init(
            kind: .configuration,
            retryable: false,
            hint: "Use https://bedrock-runtime.<region>.amazonaws.com, a VPC or FIPS endpoint, http://127.0.0.1:PORT, "
                + "or a bare region such as us-east-1"),
        "InvalidRequest": .init(
            kind: .invalidRequest,
            retryable: false, hint: "Fix the request content; see the message for the offending field"),
        "InvalidResponse": .init(
            kind: .invalidResponse,
            retryable: true, hint: "The endpoint answered something that is not Bedrock's format: check the URL"),
        "CredentialsInvalid": .init(
            kind: .credentialsInvalid,
            retryable: false, hint: "Fix the credential source named in the message"),
        // A sign-in session (IAM Identity Center, `aws login`) to start again: credentials are not there.
        "SSOTokenNotFound": .init(
            kind: .credentialsNotFound,
            retryable: false, hint: "Sign in with `aws sso login --profile <profile>`, then try again"),
        "SSOTokenExpired": .init(
            kind: .credentialsNotFound,
            retryable: false, hint: "The IAM Identity Center session has ended: `aws sso login --profile <profile>`"),
        "LoginNotFound": .init(
            kind: .credentialsNotFound, retryable: false,
            hint: "Sign in with `aws login --profile <profile>`, then try again"),
        "LoginExpired": .init(
            kind: .credentialsNotFound,
            retryable: false, hint: "The `aws login` session has ended: `aws login --profile <profile>`"),
        "LoginCredentialsChanged": .init(
            kind: .credentialsNotFound,
            retryable: false,
            hint: "The user's credentials changed since `aws login`: sign in again with `aws login --profile <profile>`"
        ),
        "LoginInsufficientPermissions": .init(
            kind: .credentialsInvalid,
            retryable: false,
            hint: "The signed-in identity needs permission for signin:CreateOAuth2Token; then "
                + "`aws login --profile <profile>`"),
        "LoginRefreshFailed": .init(
            kind: .credentialsInvalid,
            retryable: false, hint: "Retry; if it persists, sign in again with `aws login --profile <profile>`"),
    ]

    private static let byNormalizedName: [String: CatalogEntry] = {
        var table: [String: CatalogEntry] = [:]
        for (name, entry) in catalog { table[normalized(name)] = entry }
        return table
    }()

    /// "ThrottlingException", "throttlingException" and "Throttling" all name one row.
    static func normalized(_ type: String) -> String {
        var t = type.lowercased()
        if t.hasSuffix("exception") { t.removeLast("exception".count) }
        return t
    }

    static func entry(for type: String, httpStatus: Int?) -> CatalogEntry {
        if let entry = byNormalizedName[normalized(type)] { return entry }
        // Unknown type: decide by status as the standard retry mode does.
        let transient: Set<Int> = [429, 500, 502, 503, 504]
        if let httpStatus, transient.contains(httpStatus) {
            return .init(retryable: true, hint: "A transient server error: retry in a little while")
        }
        return .init(retryable: false, hint: "See the message; the request id helps AWS Support")
    }

    /// "Use an inference profile id ..." naming the id to use for this model and region.
    static func inferenceProfileHint(modelID: String?, region: String?) -> String {
        let base = "Use an inference profile id: prefix the model id with us., eu. or apac."
        guard let modelID, !modelID.isEmpty else { return base + " (e.g. us.<model id>)" }
        let prefix = InferenceProfilePrefix.forRegion(region)
        return base + " (e.g. \(prefix).\(modelID))"
    }
}

// MARK: - Building errors

extension BedrockError {
    /// Error from a non-2xx HTTP answer, per bedrock-notes.md: the X-Amzn-ErrorType header's part before
    /// the first ':' then after the last '#'; else the body's `__type` or `code`; the message from
    /// `message` or `Message`.
    static func fromHTTP(
        status: Int, headers: HTTPHeaders, body: [UInt8], modelID: String? = nil, region: String? = nil
    ) -> BedrockError {
        let requestID = headers["x-amzn-requestid"] ?? headers["x-amz-request-id"]
        let parsed = try? JSONValue.parse(body)
        var type: String?
        if let header = headers["x-amzn-errortype"], !header.isEmpty {
            type = cleanType(header)
        } else if let t = parsed?["__type"]?.stringValue ?? parsed?["code"]?.stringValue
            ?? parsed?["Code"]?.stringValue
        {
            type = cleanType(t)
        }
        let message =
            parsed?["message"]?.stringValue ?? parsed?["Message"]?.stringValue
            ?? String(decoding: body.prefix(500), as: UTF8.self)
        let resolvedType = type ?? defaultType(forStatus: status)
        return BedrockError(
            type: resolvedType, message: message.isEmpty ? "HTTP \(status)" : message, httpStatus: status,
            requestID: requestID, modelID: modelID, region: region)
    }

    /// "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/" -> "ValidationException";
    /// "com.amazon.coral.service#ExpiredTokenException" -> "ExpiredTokenException".
    static func cleanType(_ raw: String) -> String {
        var t = Substring(raw)
        if let colon = t.firstIndex(of: ":") { t = t[..<colon] }
        if let hash = t.lastIndex(of: "#") { t = t[t.index(after: hash)...] }
        return t.trimmingWhitespace()
    }

    static func defaultType(forStatus status: Int) -> String {
        switch status {
        case 400: return "ValidationException"
        case 403: return "AccessDeniedException"
        case 404: return "ResourceNotFoundException"
        case 408: return "ModelTimeoutException"
        case 429: return "ThrottlingException"
        case 503: return "ServiceUnavailableException"
        case 500...599: return "InternalServerException"
        default: return "HTTP\(status)"
        }
    }

    static func own(_ type: String, _ message: String, hint: String? = nil) -> BedrockError {
        var e = BedrockError(type: type, message: message)
        if let hint { e.hint = hint }
        return e
    }

    static func cancelled() -> BedrockError { own("Cancelled", "The request was cancelled") }
}

/// Which geography's inference-profile prefix serves a region.
public enum InferenceProfilePrefix {
    public static func forRegion(_ region: String?) -> String {
        guard let region else { return "us" }
        if region.hasPrefix("eu-") { return "eu" }
        if region.hasPrefix("ap-") { return "apac" }
        if region.hasPrefix("us-gov-") { return "us-gov" }
        if region.hasPrefix("ca-") || region.hasPrefix("us-") { return "us" }
        return "us"
    }

    static let all = ["us", "eu", "apac", "us-gov", "global", "jp", "au"]

    /// True when `id` already names a cross-region profile ("us.anthropic...") or a profile ARN.
    static func isProfileID(_ id: String) -> Bool {
        if id.hasPrefix("arn:") { return true }
        guard let dot = id.firstIndex(of: ".") else { return false }
        return all.contains(String(id[..<dot]))
    }
}
