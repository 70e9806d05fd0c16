import Locking

/// The Bedrock module's HTTP entry points over `CurlEventLoop`.
public enum HTTPTransport {
    /// Starts a transfer whose response goes to `consumer` (on the loop thread); returns the token that
    /// cancels it.
    static func start(_ request: HTTPRequest, consumer: any HTTPResponseConsumer) -> HTTPCancelToken {
        let token = HTTPCancelToken()
        do {
            let loop = try CurlEventLoop.shared.get()
            let transfer = try CurlTransfer(
                request: request, consumer: consumer, cancelToken: token, origin: loop.origin(for: request))
            loop.submit(transfer)
        } catch {
            consumer.complete(error)
        }
        return token
    }

    /// Opens a connection to `request`'s origin in the background, if none is open, and keeps it usable (see
    /// `CurlEventLoop`). `request` should be cheap and unsigned: its answer is thrown away. Never fails: a
    /// connection that cannot be opened is the next real request's error. Loads libcurl on first use.
    static func warmUp(_ request: HTTPRequest) {
        if case .success(let loop) = CurlEventLoop.shared { loop.warmUp(request) }
    }

    /// Before the process exits: aborts every transfer and stops the loop thread, so that no thread is in
    /// libcurl or OpenSSL while their libraries are torn down. At most `timeout` seconds.
    public static func stopBeforeExit(timeout: Double) {
        CurlEventLoop.stopBeforeExit(timeout: timeout)
    }

    static func cancel(_ token: HTTPCancelToken) {
        if case .success(let loop) = CurlEventLoop.shared { loop.cancel(token) }
    }

    /// Resumes the transfer carrying `token` after its consumer paused it.
    static func resume(_ token: HTTPCancelToken) {
        if case .success(let loop) = CurlEventLoop.shared { loop.resume(token) }
    }

    /// Sends `request` and returns the whole response (any status). Cancelling the calling task aborts the
    /// transfer with `Cancelled`. `maxBodyBytes` guards against an endpoint that never stops.
    static func send(_ request: HTTPRequest, maxBodyBytes: Int = 64 << 20) async throws(BedrockError) -> HTTPResponse {
        let holder = TokenHolder()
        let result: Result<HTTPResponse, BedrockError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let consumer = BufferingConsumer(maxBodyBytes: maxBodyBytes) { continuation.resume(returning: $0) }
                let token = HTTPTransport.start(request, consumer: consumer)
                if holder.set(token) { cancel(token) }
            }
        } onCancel: {
            holder.cancel()
        }
        return try result.get()
    }
}

/// Hands the cancel token of the current transfer to whoever cancels, which may happen before or after the
/// transfer starts: a request's cancellation handler, or a stream's driver task and its onTermination.
final class TokenHolder: Sendable {
    private let state = LockedValue<(token: HTTPCancelToken?, cancelled: Bool, resumeWanted: Bool)>(
        (nil, false, false))

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Stores the token; true if cancellation already happened (the caller then cancels). A resume asked
    /// for before there was a token is passed on now.
    func set(_ token: HTTPCancelToken) -> Bool {
        let (cancelled, resume) = state.withLock { s -> (Bool, Bool) in
            s.token = token
            defer { s.resumeWanted = false }
            return (s.cancelled, s.resumeWanted)
        }
        if resume { HTTPTransport.resume(token) }
        return cancelled
    }

    func cancel() {
        let token = state.withLock { s -> HTTPCancelToken? in
            s.cancelled = true
            return s.token
        }
        if let token { HTTPTransport.cancel(token) }
    }

    /// Resumes the current transfer after its consumer paused it. Before the token is set (the transfer's
    /// start has not returned yet) the resume is kept for `set`: dropped, it would leave a paused transfer,
    /// which the idle timeout rightly spares, waiting for good.
    func resume() {
        let token = state.withLock { s -> HTTPCancelToken? in
            if s.token == nil { s.resumeWanted = true }
            return s.token
        }
        if let token { HTTPTransport.resume(token) }
    }
}

/// Reads a warm-up's answer and forgets it.
final class DiscardingConsumer: HTTPResponseConsumer {
    func receive(status: Int, headers: HTTPHeaders) {}
    func receive(body: UnsafeRawBufferPointer) -> BodyDisposition { .consumed }
    func complete(_ error: BedrockError?) {}
}

/// Collects a whole response, then calls `done` once.
private final class BufferingConsumer: HTTPResponseConsumer {
    private var status = 0
    private var headers = HTTPHeaders()
    private var body: [UInt8] = []
    private let maxBodyBytes: Int
    private var tooLarge = false
    private let done: (Result<HTTPResponse, BedrockError>) -> Void

    init(maxBodyBytes: Int, done: @escaping (Result<HTTPResponse, BedrockError>) -> Void) {
        self.maxBodyBytes = maxBodyBytes
        self.done = done
    }

    func receive(status: Int, headers: HTTPHeaders) {
        self.status = status
        self.headers = headers
    }

    func receive(body bytes: UnsafeRawBufferPointer) -> BodyDisposition {
        if body.count + bytes.count > maxBodyBytes {
            tooLarge = true
            return .abort
        }
        body.append(contentsOf: bytes)
        return .consumed
    }

    func complete(_ error: BedrockError?) {
        if tooLarge {
            done(.failure(.own("InvalidResponse", "The response body exceeded \(maxBodyBytes) bytes")))
        } else if let error {
            done(.failure(error))
        } else {
            done(.success(HTTPResponse(status: status, headers: headers, body: body)))
        }
    }
}
