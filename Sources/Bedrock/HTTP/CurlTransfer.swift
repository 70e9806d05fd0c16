import Basics
internal import CCurl
import Glibc
import Synchronization

/// One HTTP transfer: owns a libcurl easy handle (and the header list and error buffer it points at) and frees
/// them in deinit. Built on the caller's thread, then handed to `CurlEventLoop`, whose thread alone touches it
/// afterwards (callbacks, completion, removal).
final class CurlTransfer {
    let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    let consumer: any HTTPResponseConsumer
    let idleTimeout: Double
    let cancelToken: HTTPCancelToken
    /// The scheme, host and port it goes to, which learns of the connections opened and closed for it.
    let origin: ConnectionOrigin
    /// Only opens (or checks) a connection for later transfers; its answer is thrown away.
    let isWarmUp: Bool

    // Loop-thread state.
    var lastActivity: ContinuousClock.Instant = .now
    private var status = 0
    private var headers = HTTPHeaders()
    private var headDelivered = false
    private var consumerAborted = false
    private var finished = false
    /// The consumer paused the transfer; the idle timeout does not run until it resumes.
    var paused = false

    init(
        request: HTTPRequest, consumer: any HTTPResponseConsumer, cancelToken: HTTPCancelToken,
        origin: ConnectionOrigin, isWarmUp: Bool = false
    ) throws(BedrockError) {
        guard let handle = CCurl_easy_init() else {
            throw BedrockError.own("ConnectionFailed", "libcurl could not create a transfer handle")
        }
        self.handle = handle
        self.consumer = consumer
        self.idleTimeout = request.idleTimeout
        self.cancelToken = cancelToken
        self.origin = origin
        self.isWarmUp = isWarmUp
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        try configure(request)
    }

    deinit {
        CCurl_easy_cleanup(handle)
        CCurl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    private func configure(_ request: HTTPRequest) throws(BedrockError) {
        var failed: CURLcode = CURLE_OK
        func check(_ code: CURLcode) { if code != CURLE_OK && failed == CURLE_OK { failed = code } }

        check(CCurl_easy_setopt_string(handle, CURLOPT_URL, request.url))
        check(CCurl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        check(CCurl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        check(CCurl_easy_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        check(CCurl_easy_setopt_long(handle, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS))
        check(CCurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1))
        check(CCurl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2))
        check(CCurl_easy_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1))
        // A second transfer started while the first connection is still being set up waits for it, to learn
        // whether it speaks HTTP/2 and can carry both, instead of opening another connection.
        check(CCurl_easy_setopt_long(handle, CURLOPT_PIPEWAIT, 1))
        // libcurl would not reuse a connection idle for more than 118 s; a warmed one is kept as long as the
        // loop keeps its origin warm (the peer may still close it earlier; see CurlEventLoop).
        check(CCurl_easy_setopt_long(handle, CURLOPT_MAXAGE_CONN, Int(ConnectionOrigin.keepWarmSeconds)))
        // The origin learns of every connection socket opened and closed, so the loop can watch idle ones.
        // It lives as long as the loop (never freed), so a socket closed after this transfer still finds it.
        let tag = Unmanaged.passUnretained(origin).toOpaque()
        check(CCurl_easy_setopt_sockopt_function(handle, curlSocketOpened))
        check(CCurl_easy_setopt_pointer(handle, CURLOPT_SOCKOPTDATA, tag))
        check(CCurl_easy_setopt_closesocket_function(handle, curlSocketClosing))
        check(CCurl_easy_setopt_pointer(handle, CURLOPT_CLOSESOCKETDATA, tag))
        // A fast stream is handed over one buffer at a time, so a larger buffer means fewer hand-overs
        // (each may wake the consuming task); a slow one still arrives as soon as it is read.
        check(CCurl_easy_setopt_long(handle, CURLOPT_BUFFERSIZE, 64 << 10))
        check(CCurl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(request.connectTimeout * 1000)))
        if let caBundle = request.caBundle, !caBundle.isEmpty {
            check(CCurl_easy_setopt_string(handle, CURLOPT_CAINFO, caBundle))
        }
        // Proxies: libcurl itself reads https_proxy/HTTPS_PROXY, http_proxy, ALL_PROXY and NO_PROXY from the
        // process environment when CURLOPT_PROXY is not set, which is what the AWS SDKs honour too.

        switch request.method {
        case "GET":
            check(CCurl_easy_setopt_long(handle, CURLOPT_HTTPGET, 1))
        default:
            check(CCurl_easy_setopt_long(handle, CURLOPT_POST, 1))
            if request.method != "POST" {
                check(CCurl_easy_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method))
            }
            check(CCurl_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
            // COPYPOSTFIELDS copies the bytes, so the body's lifetime is the handle's.
            request.body.withUnsafeBytes { raw in
                var empty: UInt8 = 0
                let base = raw.baseAddress ?? withUnsafeMutablePointer(to: &empty) { UnsafeRawPointer($0) }
                check(
                    CCurl_easy_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base)))
            }
        }

        // "Expect:" stops curl waiting for 100-continue; "Accept:" drops its default */* (botocore sends none).
        var lines = request.headers.map { "\($0.0): \($0.1)" }
        lines.append("Expect:")
        if !request.headers.contains(where: { $0.0.lowercased() == "accept" }) { lines.append("Accept:") }
        if request.method != "GET", !request.headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            lines.append("Content-Type:")
        }
        for line in lines { headerList = CCurl_slist_append(headerList, line) }
        check(CCurl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))

        let me = Unmanaged.passUnretained(self).toOpaque()
        check(CCurl_easy_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, curlWriteCallback))
        check(CCurl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, me))
        check(CCurl_easy_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, curlHeaderCallback))
        check(CCurl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, me))
        check(CCurl_easy_setopt_xferinfo_function(handle, curlProgressCallback))
        check(CCurl_easy_setopt_pointer(handle, CURLOPT_XFERINFODATA, me))
        check(CCurl_easy_setopt_long(handle, CURLOPT_NOPROGRESS, 0))

        if failed != CURLE_OK {
            throw BedrockError.own("ConnectionFailed", "libcurl rejected an option: \(Self.describe(failed))")
        }
    }

    // MARK: Callbacks (loop thread)

    fileprivate func headerLine(_ bytes: UnsafeRawBufferPointer) {
        lastActivity = .now
        let line = String(decoding: bytes, as: UTF8.self).trimmingWhitespaceAndNewlines()
        if line.hasPrefix("HTTP/") {
            // A new response (after 100 Continue, say): start over.
            headers = HTTPHeaders()
            let parts = line.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingWhitespace()
            let value = line[line.index(after: colon)...].trimmingWhitespace()
            headers.append(name, value)
        }
    }

    fileprivate func bodyBytes(_ bytes: UnsafeRawBufferPointer) -> BodyDisposition {
        lastActivity = .now
        if cancelToken.isCancelled { return .abort }
        deliverHeadIfNeeded()
        let disposition = consumer.receive(body: bytes)
        switch disposition {
        case .consumed: break
        case .pause: paused = true
        case .abort: consumerAborted = true
        }
        return disposition
    }

    /// After a pause: reading starts again, and libcurl may offer the held bytes from inside this call.
    func resume() {
        guard paused else { return }
        paused = false
        lastActivity = .now
        CCurl_easy_pause(handle, CURLPAUSE_CONT)
    }

    fileprivate func progress() -> Bool { !cancelToken.isCancelled }

    private func deliverHeadIfNeeded() {
        guard !headDelivered else { return }
        headDelivered = true
        if status == 0 {
            var code = 0
            _ = CCurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code)
            status = code
        }
        consumer.receive(status: status, headers: headers)
    }

    // MARK: Completion (loop thread)

    /// Called once curl reports the transfer done (or the loop ends it); maps curl's result to our errors.
    func finish(code: CURLcode) {
        guard !finished else { return }
        if code == CURLE_OK {
            deliverHeadIfNeeded()
            finished = true
            consumer.complete(nil)
            return
        }
        if consumerAborted {
            // The consumer stopped the transfer and already knows why; it reports its own error.
            finished = true
            consumer.complete(nil)
            return
        }
        finish(error: mapError(code))
    }

    func finish(error: BedrockError) {
        guard !finished else { return }
        finished = true
        if headDelivered || status != 0 { deliverHeadIfNeeded() }
        consumer.complete(error)
    }

    private func mapError(_ code: CURLcode) -> BedrockError {
        if cancelToken.isCancelled || code == CURLE_ABORTED_BY_CALLBACK { return .cancelled() }
        let detail = curlMessage(code)
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return .own("Timeout", "Timed out: \(detail)")
        case CURLE_SSL_CACERT_BADFILE, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR:
            return .own(
                "ConnectionFailed", "TLS failed: \(detail)",
                hint: "Check the endpoint URL; if a proxy inspects TLS, point AWS_CA_BUNDLE at its CA certificate")
        case CURLE_PARTIAL_FILE, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_HTTP2, CURLE_HTTP2_STREAM,
            CURLE_SEND_ERROR:
            let when = headDelivered ? "mid-response" : "before answering"
            var error = BedrockError.own("ConnectionFailed", "The connection closed \(when): \(detail)")
            error.hint = "The endpoint or a proxy dropped the connection: retry; check the network and proxy"
            return error
        default:
            return .own("ConnectionFailed", detail)
        }
    }

    private func curlMessage(_ code: CURLcode) -> String {
        let buffered = String(cString: errorBuffer)
        return buffered.isEmpty ? Self.describe(code) : buffered
    }

    static func describe(_ code: CURLcode) -> String {
        String(cString: CCurl_easy_strerror(code))
    }
}

/// Set from any thread to stop a transfer; the loop thread and callbacks read it.
final class HTTPCancelToken: Sendable {
    private let flag = Atomic<Bool>(false)
    var isCancelled: Bool { flag.load(ordering: .acquiring) }
    /// Returns true the first time.
    func cancel() -> Bool { !flag.exchange(true, ordering: .acquiringAndReleasing) }
}

// C entry points: no captures, the transfer comes back through the user-data pointer.

private func curlWriteCallback(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    guard let user else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
    let length = size * count
    switch transfer.bodyBytes(UnsafeRawBufferPointer(start: data, count: length)) {
    case .consumed: return length
    case .pause: return Int(CURL_WRITEFUNC_PAUSE)
    case .abort: return 0
    }
}

private func curlHeaderCallback(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    guard let user else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
    let length = size * count
    transfer.headerLine(UnsafeRawBufferPointer(start: data, count: length))
    return length
}

private func curlSocketOpened(
    _ user: UnsafeMutableRawPointer?, _ socket: curl_socket_t, _ purpose: curlsocktype
) -> Int32 {
    if let user, purpose == CURLSOCKTYPE_IPCXN {
        Unmanaged<ConnectionOrigin>.fromOpaque(user).takeUnretainedValue().opened(socket)
    }
    return Int32(CURL_SOCKOPT_OK)
}

private func curlSocketClosing(_ user: UnsafeMutableRawPointer?, _ socket: curl_socket_t) -> Int32 {
    if let user { Unmanaged<ConnectionOrigin>.fromOpaque(user).takeUnretainedValue().closed(socket) }
    return close(socket)
}

private func curlProgressCallback(
    _ user: UnsafeMutableRawPointer?, _ dltotal: curl_off_t, _ dlnow: curl_off_t, _ ultotal: curl_off_t,
    _ ulnow: curl_off_t
) -> Int32 {
    guard let user else { return 0 }
    return Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue().progress() ? 0 : 1
}
