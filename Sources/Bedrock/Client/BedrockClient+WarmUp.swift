import Basics

extension BedrockClient {
    /// Does in the background what the first request would otherwise wait for: resolves the credentials
    /// (refreshing ones close to expiry) and opens a connection to the runtime endpoint (DNS, TCP, TLS), which
    /// later requests reuse; the connection is then kept usable while the backend is in use (see
    /// `CurlEventLoop`). Returns at once and never fails: what goes wrong is the next request's error, as
    /// without a warm-up. Cheap when already warm, so call it whenever the backend is about to be used.
    public func warmUp() {
        let chain = credentialChain
        Task { _ = try? await chain.resolve() }
        guard let request = warmUpRequest() else { return }
        // The first use of the transport loads libcurl (a few ms of dlopen): on a thread of its own.
        DetachedThread.start(name: "contenox.warmup", stackSize: 1 << 20) { HTTPTransport.warmUp(request) }
    }

    /// An unsigned GET of the runtime endpoint's root: a small error answer that opens the connection the
    /// way a request would (same origin, CA bundle and timeouts), so libcurl reuses it for the next one.
    func warmUpRequest() -> HTTPRequest? {
        guard let endpoint = try? endpoint() else { return nil }
        return HTTPRequest(
            method: "GET", url: endpoint.runtimeURL + "/", connectTimeout: options.connectTimeout,
            idleTimeout: options.connectTimeout, caBundle: nonEmpty(environment["AWS_CA_BUNDLE"]))
    }
}
