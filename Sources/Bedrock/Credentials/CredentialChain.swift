import FoundationEssentials
import Locking

/// How a request authenticates: SigV4 with AWS credentials, or a Bedrock API key as a Bearer token.
public enum BedrockAuth: Sendable, Equatable, CustomStringConvertible {
    case sigV4(AWSCredentials)
    case bearer(String)

    /// Names the kind only: never a key, secret or token.
    public var description: String {
        switch self {
        case .sigV4(let c): return "sigV4(\(c.accessKeyID.prefix(4))…)"
        case .bearer: return "bearer(<redacted>)"
        }
    }
}

/// Credentials plus where they came from ("environment", "profile:dev", "imds", ...).
public struct ResolvedCredentials: Sendable, Equatable, CustomStringConvertible {
    public var auth: BedrockAuth
    public var source: String

    public init(auth: BedrockAuth, source: String) {
        self.auth = auth
        self.source = source
    }

    public var expiration: Date? {
        if case .sigV4(let c) = auth { return c.expiration }
        return nil
    }

    public var description: String { "\(auth) from \(source)" }
}

/// Finds credentials the way the AWS SDKs do, with a backend's own variable first:
/// 1. the backend's `apiKeyEnv` JSON blob (if configured, it must work: no fall-through),
/// 2. `AWS_BEARER_TOKEN_BEDROCK` (a Bedrock API key),
/// 3. `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`,
/// 4. web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, STS AssumeRoleWithWebIdentity),
/// 5. the shared files' profile: `role_arn` + `source_profile` (STS AssumeRole), IAM Identity Center
///    (`sso_session` or `sso_start_url`), the credentials file's keys, `aws login` (`login_session`),
///    `credential_process`, the config file's keys,
/// 6. container credentials (ECS/EKS), 7. EC2 instance metadata (IMDSv2).
///
/// Temporary credentials are cached and refreshed `refreshMargin` seconds before they expire; concurrent
/// callers share one refresh. From `refreshAhead` seconds before that, a call still answers with them at once
/// and starts the refresh in the background, so a request waits for STS, SSO or IMDS only when nothing asked
/// for credentials in that window. The environment is passed in, never read from the process.
public final class CredentialChain: Sendable {
    let apiKeyEnv: String?
    let environment: [String: String]
    let refreshMargin: Double
    let refreshAhead: Double
    /// Region for STS calls (assume-role, web identity) when the profile names none.
    let region: String?

    private struct State {
        var cached: ResolvedCredentials?
        var inflight: Task<Result<ResolvedCredentials, BedrockError>, Never>?
    }
    private let state = LockedValue(State())

    public init(
        apiKeyEnv: String? = nil, environment: [String: String], region: String? = nil,
        refreshMargin: Double = 300, refreshAhead: Double? = nil
    ) {
        self.apiKeyEnv = apiKeyEnv
        self.environment = environment
        self.region = region
        self.refreshMargin = refreshMargin
        self.refreshAhead = refreshAhead ?? refreshMargin
    }

    /// Current credentials: cached ones while they are fresh, else a new lookup through the chain.
    public func resolve() async throws(BedrockError) -> ResolvedCredentials {
        let task = state.withLock { s -> Task<Result<ResolvedCredentials, BedrockError>, Never> in
            if let cached = s.cached, isFresh(cached) {
                // Close to the margin: answer with these, and refresh in the background so that a later
                // request does not wait. A failed refresh keeps these.
                if s.inflight == nil, !isFresh(cached, margin: refreshMargin + refreshAhead) {
                    s.inflight = lookUpTask()
                }
                return Task { .success(cached) }
            }
            if let inflight = s.inflight { return inflight }
            let task = lookUpTask()
            s.inflight = task
            return task
        }
        return try await task.value.get()
    }

    /// A lookup through the chain that stores what it finds and clears `inflight` when done.
    private func lookUpTask() -> Task<Result<ResolvedCredentials, BedrockError>, Never> {
        Task { [self] in
            let result = await lookUp()
            state.withLock { s in
                if case .success(let credentials) = result { s.cached = credentials }
                s.inflight = nil
            }
            return result
        }
    }

    /// Forgets cached credentials (e.g. after ExpiredTokenException), so the next call looks them up again.
    public func invalidate() {
        state.withLock { $0.cached = nil }
    }

    private func isFresh(_ credentials: ResolvedCredentials, margin: Double? = nil) -> Bool {
        guard let expiration = credentials.expiration else { return true }
        return expiration.timeIntervalSinceNow > margin ?? refreshMargin
    }

    /// Walks the providers in order. A provider answers credentials, nil (not configured here: go on, with a
    /// note for the final message) or throws (configured but broken: stop).
    private func lookUp() async -> Result<ResolvedCredentials, BedrockError> {
        let providers = CredentialProviders(environment: environment, region: region)
        var tried: [String] = []
        do throws(BedrockError) {
            if let apiKeyEnv = nonEmpty(apiKeyEnv) {
                return .success(try providers.apiKeyEnv(apiKeyEnv))
            }
            let steps: [(String, () async throws(BedrockError) -> ResolvedCredentials?)] = [
                ("bearer-token (AWS_BEARER_TOKEN_BEDROCK not set)", providers.bearerToken),
                ("environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set)", providers.environmentKeys),
                ("web-identity (AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN not set)", providers.webIdentity),
                (providers.profileNote(), providers.profile),
                ("container (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI not set)", providers.container),
                (providers.imdsNote(), providers.imds),
            ]
            for (note, step) in steps {
                if let found = try await step() { return .success(found) }
                tried.append(note)
            }
        } catch {
            return .failure(error)
        }
        return .failure(
            .own(
                "CredentialsNotFound",
                "No AWS credentials found. Tried: " + tried.joined(separator: "; ") + "."))
    }
}
