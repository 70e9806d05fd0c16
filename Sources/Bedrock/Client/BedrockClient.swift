import FoundationEssentials
import Glibc
import JSON
import Locking

/// Talks to one Bedrock backend: Converse, ConverseStream, model listing and a health check. Every attempt is
/// signed afresh (SigV4, service `bedrock`, the endpoint's region) or carries a Bedrock API key as Bearer.
public final class BedrockClient: Sendable {
    /// Tunables; the defaults are the AWS SDKs' standard retry mode and sensible network timeouts.
    public struct Options: Sendable, Equatable {
        /// Attempts in all, first included.
        public var maxAttempts = 3
        /// Backoff before attempt n+1 is random(0..<1) * min(retryBaseDelay * 2^(n-1), retryMaxDelay) seconds.
        public var retryBaseDelay: Double = 1
        public var retryMaxDelay: Double = 20
        public var connectTimeout: Double = 10
        /// Seconds without a byte from the endpoint before a request fails with Timeout.
        public var idleTimeout: Double = 60
        /// Temporary credentials are refreshed this many seconds before they expire.
        public var credentialRefreshMargin: Double = 300

        public init() {}
    }

    public let backend: BackendSettings
    public let options: Options
    let environment: [String: String]
    private let endpointResult: Result<BedrockEndpoint, BedrockError>
    let credentialChain: CredentialChain
    let modelCache = LockedValue<[ModelInfo]?>(nil)

    public convenience init(
        backend: BackendSettings, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.init(backend: backend, environment: environment, options: Options())
    }

    public init(backend: BackendSettings, environment: [String: String], options: Options) {
        self.backend = backend
        self.environment = environment
        self.options = options
        let endpointResult = Result { () throws(BedrockError) -> BedrockEndpoint in
            try BedrockEndpoint.resolve(backendURL: backend.url, environment: environment)
        }
        self.endpointResult = endpointResult
        let region = nonEmpty(backend.region) ?? (try? endpointResult.get())?.region
        credentialChain = CredentialChain(
            apiKeyEnv: backend.apiKeyEnv, environment: environment, region: region,
            refreshMargin: options.credentialRefreshMargin)
    }

    /// The endpoint the backend's URL names (after AWS_ENDPOINT_URL* overrides for a bare region).
    public func endpoint() throws(BedrockError) -> BedrockEndpoint {
        try endpointResult.get()
    }

    /// The signing region: the backend's region, the endpoint's, AWS_REGION, AWS_DEFAULT_REGION, the profile's.
    public func region() throws(BedrockError) -> String {
        if let region = nonEmpty(backend.region) { return region }
        if let region = try endpoint().region { return region }
        if let region = nonEmpty(environment["AWS_REGION"]) ?? nonEmpty(environment["AWS_DEFAULT_REGION"]) {
            return region
        }
        let profile = AWSSharedProfiles.selectedProfile(environment: environment).name
        if let region = nonEmpty(AWSSharedProfiles.load(environment: environment).profiles[profile]?["region"]) {
            return region
        }
        throw BedrockError.own(
            "RegionNotSet",
            "No region for backend '\(backend.name)': its URL \(backend.url) names none, and AWS_REGION, "
                + "AWS_DEFAULT_REGION and profile '\(profile)' set none",
            hint: "Add the backend with a region (e.g. --region us-east-1 or url us-east-1), or export AWS_REGION")
    }

    /// The credentials this backend uses now, and their source.
    public func resolveCredentials() async throws(BedrockError) -> ResolvedCredentials {
        try await credentialChain.resolve()
    }

    // MARK: Converse

    /// `onRetry` hears of each retry before its wait (see `RetryNotice`).
    public func converse(
        _ request: ConverseRequest, onRetry: (@Sendable (RetryNotice) -> Void)? = nil
    ) async throws(BedrockError) -> ConverseResponse {
        let endpoint = try endpoint()
        let region = try region()
        let path = "/model/\(SigV4.percentEncodePathSegment(request.modelID))/converse"
        var sent = request
        // A stream's guardrail setting that Converse does not take.
        if case .object(var guardrail)? = sent.passthrough["guardrailConfig"] {
            guardrail["streamProcessingMode"] = nil
            sent.passthrough["guardrailConfig"] = .object(guardrail)
        }
        let body = sent.bodyJSON.serialized()
        let response = try await send(
            method: "POST", baseURL: endpoint.runtimeURL, host: endpoint.host, path: path, query: "", body: body,
            region: region, modelID: request.modelID, onRetry: onRetry)
        let json: JSONValue
        do {
            json = try JSONValue.parse(response.body)
        } catch {
            throw BedrockError.own("InvalidResponse", "The Converse answer is not JSON: \(error.message)")
        }
        var result = try ConverseResponse(json: json, requestID: response.requestID)
        let names = request.toolNames
        result.message.content = result.message.content.map { names.incoming($0) }
        return result
    }

    /// Events as they are decoded (see `ConverseEventStream`). Cancelling the consuming Task (or dropping the
    /// stream) aborts the HTTP transfer within milliseconds. Errors thrown are BedrockError. A failure before
    /// the first event is retried like any request (`onRetry` hears of each retry before its wait); after it,
    /// the error ends the stream.
    public func converseStream(
        _ request: ConverseRequest, onRetry: (@Sendable (RetryNotice) -> Void)? = nil
    ) -> ConverseEventStream {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: EventBatch.self)
        let control = TokenHolder()
        let flow = StreamFlow(control: control)
        let task = Task { [self] in
            do throws(BedrockError) {
                try await runStream(
                    request, continuation: continuation, control: control, flow: flow, onRetry: onRetry)
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { termination in
            if case .cancelled = termination {
                control.cancel()
                task.cancel()
            }
        }
        return ConverseEventStream(stream: stream, flow: flow)
    }

    private func runStream(
        _ request: ConverseRequest, continuation: AsyncThrowingStream<EventBatch, any Error>.Continuation,
        control: TokenHolder, flow: StreamFlow, onRetry: (@Sendable (RetryNotice) -> Void)?
    ) async throws(BedrockError) {
        let endpoint = try endpoint()
        let region = try region()
        let path = "/model/\(SigV4.percentEncodePathSegment(request.modelID))/converse-stream"
        let body = request.bodyJSON.serialized()
        let names = request.toolNames
        try await withRetries(onRetry: onRetry) { credentials, limits async -> Attempt<Void> in
            if control.isCancelled { return .failed(.cancelled(), heard: false, retryable: false) }
            let httpRequest = signedRequest(
                method: "POST", baseURL: endpoint.runtimeURL, host: endpoint.host, path: path, query: "", body: body,
                credentials: credentials, region: region, limits: limits)
            let outcome = await withCheckedContinuation { (done: CheckedContinuation<StreamOutcome, Never>) in
                let consumer = EventStreamConsumer(
                    continuation: continuation, flow: flow, names: names, modelID: request.modelID, region: region
                ) { done.resume(returning: $0) }
                let token = HTTPTransport.start(httpRequest, consumer: consumer)
                if control.set(token) { HTTPTransport.cancel(token) }
            }
            switch outcome {
            case .finished:
                return .succeeded(())
            case .failed(let error, let afterEvents, let heard):
                if control.isCancelled { return .failed(.cancelled(), heard: heard, retryable: false) }
                // A stream is retried only before its first event: after it, the client has seen part of an answer.
                return .failed(error, heard: heard, retryable: error.retryable && !afterEvents)
            }
        }
    }

    // MARK: Requests with retries

    /// What one attempt of a request came to.
    enum Attempt<Value> {
        case succeeded(Value)
        /// `heard`: bytes came from the endpoint (an answer, even an error), which restarts the silence budget;
        /// `retryable`: whether another attempt may succeed.
        case failed(BedrockError, heard: Bool, retryable: Bool)
    }

    /// How long an attempt may wait, from what is left of the request's silence budget.
    struct AttemptLimits: Sendable {
        var connectTimeout: Double
        var idleTimeout: Double
    }

    /// The one retry loop, for every request (Converse, ConverseStream, listing, checks): the SDKs' standard
    /// mode (at most `maxAttempts`, full-jitter backoff, credentials looked up and the request signed afresh
    /// for every attempt).
    ///
    /// `idleTimeout` bounds the whole request's silence, not each attempt's: the time since the endpoint last
    /// sent anything (or since the start) counts across attempts and the waits between them, so a silent
    /// endpoint fails the request with Timeout after `idleTimeout` seconds however many attempts remain.
    func withRetries<Value>(
        onRetry: (@Sendable (RetryNotice) -> Void)? = nil,
        _ attempt: (ResolvedCredentials, AttemptLimits) async -> Attempt<Value>
    ) async throws(BedrockError) -> Value {
        var quietSince = ContinuousClock.now
        var number = 1
        while true {
            let credentials = try await credentialChain.resolve()
            // At least a millisecond: curl reads a connect timeout of 0 as its own default of 300 s.
            let remaining = max(options.idleTimeout - Self.seconds(since: quietSince), 0.001)
            let limits = AttemptLimits(
                connectTimeout: min(options.connectTimeout, remaining), idleTimeout: remaining)
            let error: BedrockError
            let heard: Bool
            let retryable: Bool
            switch await attempt(credentials, limits) {
            case .succeeded(let value): return value
            case .failed(let failure, let endpointAnswered, let mayRetry):
                (error, heard, retryable) = (failure, endpointAnswered, mayRetry)
            }
            if error.kind == .cancelled || Task.isCancelled { throw .cancelled() }
            // Expired session credentials: look them up again for the next attempt or request.
            if error.kind == .expiredCredentials { credentialChain.invalidate() }
            if heard { quietSince = .now }
            guard retryable, number < options.maxAttempts else { throw error }
            let left = options.idleTimeout - Self.seconds(since: quietSince)
            guard left > 0 else { throw error }
            let delay = backoffDelay(attempt: number, atMost: left)
            onRetry?(
                RetryNotice(
                    attempt: number + 1, maxAttempts: options.maxAttempts, delayMilliseconds: Int(delay * 1000),
                    reason: error.type, message: error.message))
            try await sleep(seconds: delay)
            guard options.idleTimeout - Self.seconds(since: quietSince) > 0 else { throw error }
            number += 1
        }
    }

    /// Sends a signed request with the standard retry mode; returns a 2xx response or throws.
    func send(
        method: String, baseURL: String, host: String, path: String, query: String, body: [UInt8], region: String,
        modelID: String?, onRetry: (@Sendable (RetryNotice) -> Void)? = nil
    ) async throws(BedrockError) -> HTTPResponse {
        try await withRetries(onRetry: onRetry) { credentials, limits async -> Attempt<HTTPResponse> in
            let request = signedRequest(
                method: method, baseURL: baseURL, host: host, path: path, query: query, body: body,
                credentials: credentials, region: region, limits: limits)
            do throws(BedrockError) {
                let response = try await HTTPTransport.send(request)
                if (200..<300).contains(response.status) { return .succeeded(response) }
                let error = BedrockError.fromHTTP(
                    status: response.status, headers: response.headers, body: response.body, modelID: modelID,
                    region: region)
                return .failed(error, heard: true, retryable: error.retryable)
            } catch {
                var e = error
                if e.kind == .connectionFailed { e.message = "\(baseURL): \(e.message)" }
                return .failed(e, heard: false, retryable: e.retryable)
            }
        }
    }

    private static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    /// Full jitter: random(0..<1) * min(base * 2^(attempt-1), max) seconds, and never past `atMost`.
    private func backoffDelay(attempt: Int, atMost: Double) -> Double {
        let ceiling = min(options.retryBaseDelay * pow(2, Double(attempt - 1)), options.retryMaxDelay)
        return min(Double.random(in: 0..<1) * ceiling, atMost)
    }

    private func sleep(seconds: Double) async throws(BedrockError) {
        do {
            try await Task.sleep(for: .seconds(seconds))
        } catch {
            throw .cancelled()
        }
    }

    func signedRequest(
        method: String, baseURL: String, host: String, path: String, query: String, body: [UInt8],
        credentials: ResolvedCredentials, region: String, limits: AttemptLimits? = nil
    ) -> HTTPRequest {
        var headers: [(String, String)] = []
        if method != "GET" { headers.append(("Content-Type", "application/json")) }
        switch credentials.auth {
        case .bearer(let token):
            headers.append(("Authorization", "Bearer \(token)"))
        case .sigV4(let aws):
            SigV4.sign(
                method: method, host: host, path: path, query: query, headers: &headers, body: body,
                credentials: aws, region: region, service: "bedrock", date: Date())
        }
        // The Host header comes from the URL; drop a copy SigV4 may have added so curl does not send two.
        headers.removeAll { $0.0.lowercased() == "host" }
        return HTTPRequest(
            method: method, url: baseURL + path + (query.isEmpty ? "" : "?" + query), headers: headers, body: body,
            connectTimeout: limits?.connectTimeout ?? options.connectTimeout,
            idleTimeout: limits?.idleTimeout ?? options.idleTimeout,
            caBundle: nonEmpty(environment["AWS_CA_BUNDLE"]))
    }
}

/// A failed attempt that will be tried again: which attempt comes next, after how long, and why.
public struct RetryNotice: Sendable, Equatable {
    /// The attempt about to be made (2 for the first retry).
    public var attempt: Int
    public var maxAttempts: Int
    public var delayMilliseconds: Int
    /// The failure's type (`ThrottlingException`, `ConnectionFailed`, ...).
    public var reason: String
    public var message: String
}

enum StreamOutcome: Sendable {
    case finished
    /// `afterEvents`: events reached the consumer first; `heard`: the endpoint sent anything at all.
    case failed(BedrockError, afterEvents: Bool, heard: Bool)
}

/// Feeds a ConverseStream body to the event-stream decoder as bytes arrive (on the transport's thread) and
/// yields the events decoded from each chunk into the stream as one batch; buffers only an error response's
/// body. Pauses the transfer while the consumer is more than `StreamFlow.pauseBytes` behind.
final class EventStreamConsumer: HTTPResponseConsumer {
    private let continuation: AsyncThrowingStream<EventBatch, any Error>.Continuation
    private let flow: StreamFlow
    private let names: ToolNameMap
    private let modelID: String
    private let region: String
    private let done: (StreamOutcome) -> Void
    private var decoder = EventStreamDecoder()
    private var status = 0
    private var headers = HTTPHeaders()
    private var requestID: String?
    private var errorBody: [UInt8] = []
    private var yieldedAny = false
    private var sawMessageStop = false
    private var failure: BedrockError?

    init(
        continuation: AsyncThrowingStream<EventBatch, any Error>.Continuation, flow: StreamFlow, names: ToolNameMap,
        modelID: String, region: String, done: @escaping (StreamOutcome) -> Void
    ) {
        self.continuation = continuation
        self.flow = flow
        self.names = names
        self.modelID = modelID
        self.region = region
        self.done = done
    }

    func receive(status: Int, headers: HTTPHeaders) {
        self.status = status
        self.headers = headers
        requestID = headers["x-amzn-requestid"]
    }

    func receive(body bytes: UnsafeRawBufferPointer) -> BodyDisposition {
        guard status == 200 else {
            if errorBody.count < 1 << 20 { errorBody.append(contentsOf: bytes) }
            return .consumed
        }
        guard flow.admit() else { return .pause }
        var events: [ConverseStreamEvent] = []
        events.reserveCapacity(bytes.count / 64)
        var payloadBytes = 0
        do throws(EventStreamError) {
            try decoder.feed(bytes) { message in
                do throws(BedrockError) {
                    guard let event = try ConverseStreamEvent.decode(message, requestID: requestID) else { return true }
                    if case .messageStop = event { sawMessageStop = true }
                    events.append(names.incoming(event))
                    payloadBytes += message.payload.count + 16
                    return true
                } catch {
                    var e = error
                    if e.kind == .validation {
                        e = BedrockError(
                            type: e.type, message: e.message, requestID: e.requestID, modelID: modelID,
                            region: region)
                    }
                    failure = e
                    return false
                }
            }
        } catch {
            var e = BedrockError.own("StreamCorrupt", "The response stream is corrupt: \(error.message)")
            e.requestID = requestID
            failure = e
        }
        // Events decoded before a failure still reach the consumer, ahead of the error.
        if !events.isEmpty {
            yieldedAny = true
            flow.added(payloadBytes)
            continuation.yield(EventBatch(events: events, bytes: payloadBytes))
        }
        return failure == nil ? .consumed : .abort
    }

    func complete(_ error: BedrockError?) {
        if let failure {
            done(.failed(failure, afterEvents: yieldedAny, heard: status != 0))
        } else if var error {
            if error.kind == .connectionFailed, decoder.hasPartialMessage || yieldedAny {
                error.message = "The connection closed in the middle of the response stream (\(error.message))"
            }
            error.requestID = error.requestID ?? requestID
            done(.failed(error, afterEvents: yieldedAny, heard: status != 0))
        } else if status != 200 {
            done(
                .failed(
                    .fromHTTP(
                        status: status, headers: headers, body: errorBody, modelID: modelID,
                        region: region), afterEvents: false, heard: true))
        } else if decoder.hasPartialMessage {
            var e = BedrockError.own("StreamCorrupt", "The response stream ended in the middle of an event")
            e.requestID = requestID
            done(.failed(e, afterEvents: yieldedAny, heard: status != 0))
        } else if !sawMessageStop {
            var e = BedrockError.own("ConnectionFailed", "The response stream ended before messageStop")
            e.requestID = requestID
            e.hint = "The endpoint or a proxy cut the stream short: retry; check the network and proxy"
            done(.failed(e, afterEvents: yieldedAny, heard: status != 0))
        } else {
            done(.finished)
        }
    }
}
