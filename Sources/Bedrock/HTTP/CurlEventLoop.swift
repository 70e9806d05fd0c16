import Basics
internal import CCurl
import Dispatch
import Glibc
import Locking

/// Runs every HTTP transfer of the process on one thread with a libcurl multi handle, which it owns.
///
/// Why one curl_multi loop rather than a pool of threads each blocking in curl_easy_perform:
/// - the multi handle's connection cache and DNS cache are shared by all its transfers, so connections are
///   reused (and HTTP/2 streams multiplexed) without CURLSH locking callbacks;
/// - 32 concurrent streams cost one thread, not 32;
/// - cancellation is immediate: `cancel` wakes the loop (curl_multi_wakeup), which removes the easy handle;
///   curl closes a connection whose transfer was not complete instead of draining it.
/// Callbacks (and so stream decoding) run on this thread; consumers only append to their streams, so one
/// thread keeps up with many streams.
///
/// Warm-up (`warmUp`): the loop opens a connection to an origin before the first request needs it, keeps it
/// in libcurl's cache, and while the origin was used in the last `ConnectionOrigin.keepWarmSeconds`,
/// watches its idle connections (those no running transfer uses). An idle connection that becomes readable was closed by the
/// peer (EOF, a TLS close_notify, an HTTP/2 GOAWAY): the loop sends the origin's warm-up request again, and
/// libcurl, which refuses to reuse a connection with unread input, drops it and opens a fresh one. Nothing is
/// sent on a timer, and nothing at all once the origin has been idle that long.
final class CurlEventLoop: Sendable {
    /// The process's loop, started on first use; a failure when libcurl cannot be loaded (see CCurl's shim.h).
    /// Whether `shared` has been made (libcurl loaded, the loop thread started); read without making it.
    static let started = LockedValue(false)

    static let shared: Result<CurlEventLoop, BedrockError> = {
        started.withLock { $0 = true }
        if let reason = CCurl_load_error() {
            return .failure(
                .own(
                    "ConnectionFailed", "libcurl could not be loaded: \(String(cString: reason))",
                    hint: "Install libcurl (Debian/Ubuntu: apt-get install libcurl4)"))
        }
        guard let multi = MultiHandle() else {
            return .failure(.own("ConnectionFailed", "libcurl could not create its multi handle"))
        }
        return .success(CurlEventLoop(multi: multi))
    }()

    private enum Command {
        case add(CurlTransfer)
        case cancel(HTTPCancelToken)
        case resume(HTTPCancelToken)
        case warmUp(HTTPRequest)
        /// Abort every transfer, signal, and never call libcurl again (the process is about to exit).
        case stop(DispatchSemaphore)
    }

    private let multi: MultiHandle
    private let queue = LockedValue<[SendableCommand]>([])
    private let origins = LockedValue<[String: ConnectionOrigin]>([:])

    /// `Command` holds non-Sendable transfers; the box marks the hand-over from the submitting thread to the
    /// loop thread. Safe because the submitter never touches the transfer after `submit`.
    private struct SendableCommand: @unchecked Sendable {
        var command: Command
    }

    private init(multi: MultiHandle) {
        self.multi = multi
        DetachedThread.start(name: "contenox.curl", stackSize: 1 << 20) { [self] in run() }
    }

    /// Starts `transfer`; the loop owns it from now on.
    func submit(_ transfer: CurlTransfer) {
        queue.withLock { $0.append(SendableCommand(command: .add(transfer))) }
        CCurl_multi_wakeup(multi.handle)
    }

    /// Aborts the transfer carrying `token`, if it is still running.
    func cancel(_ token: HTTPCancelToken) {
        guard token.cancel() else { return }
        queue.withLock { $0.append(SendableCommand(command: .cancel(token))) }
        CCurl_multi_wakeup(multi.handle)
    }

    /// Resumes the transfer carrying `token` after its consumer paused it.
    func resume(_ token: HTTPCancelToken) {
        queue.withLock { $0.append(SendableCommand(command: .resume(token))) }
        CCurl_multi_wakeup(multi.handle)
    }

    /// Opens a connection to `request`'s origin unless one is open or opening, and keeps the origin warm (see
    /// the type's comment). `request` is what is sent to open it (its answer is thrown away) and to reopen it.
    func warmUp(_ request: HTTPRequest) {
        queue.withLock { $0.append(SendableCommand(command: .warmUp(request))) }
        CCurl_multi_wakeup(multi.handle)
    }

    /// Stops the loop before the process exits, so that no thread is inside libcurl or OpenSSL while the
    /// exit runs their libraries' destructors (a warm-up's transfer may still be connecting). Waits at most
    /// `timeout` seconds; does nothing when libcurl was never loaded.
    static func stopBeforeExit(timeout: Double) {
        guard started.withLock({ $0 }), case .success(let loop) = shared else { return }
        let stopped = DispatchSemaphore(value: 0)
        loop.queue.withLock { $0.append(SendableCommand(command: .stop(stopped))) }
        CCurl_multi_wakeup(loop.multi.handle)
        _ = stopped.wait(timeout: .now() + timeout)
    }

    /// The one `ConnectionOrigin` for `request`'s origin, made on first use and kept for good.
    func origin(for request: HTTPRequest) -> ConnectionOrigin {
        let key = ConnectionOrigin.key(for: request)
        return origins.withLock { all in
            if let origin = all[key] { return origin }
            let origin = ConnectionOrigin(key: key)
            all[key] = origin
            return origin
        }
    }

    // MARK: The loop thread

    /// An origin kept warm: what reopens its connection, and when a transfer last went to it.
    private struct WarmOrigin {
        var origin: ConnectionOrigin
        var request: HTTPRequest
        var lastUsed: ContinuousClock.Instant
    }

    private func run() {
        var active: [UInt: CurlTransfer] = [:]
        var warm: [String: WarmOrigin] = [:]
        var warmingUp: Set<String> = []
        let keepWarm = Duration.seconds(ConnectionOrigin.keepWarmSeconds)

        func remove(_ transfer: CurlTransfer) {
            CCurl_multi_remove_handle(multi.handle, transfer.handle)
            active[UInt(bitPattern: transfer.handle)] = nil
            if transfer.isWarmUp { warmingUp.remove(transfer.origin.key) }
            transfer.origin.transferFinished(warmUp: transfer.isWarmUp)
        }

        func add(_ transfer: CurlTransfer) -> Bool {
            transfer.lastActivity = .now
            let code = CCurl_multi_add_handle(multi.handle, transfer.handle)
            if code != CURLM_OK {
                transfer.finish(
                    error: .own("ConnectionFailed", "libcurl: \(String(cString: CCurl_multi_strerror(code)))"))
                return false
            }
            active[UInt(bitPattern: transfer.handle)] = transfer
            return true
        }

        /// Sends the origin's warm-up request, unless one is on its way; a failure is only logged by curl's
        /// absence of a connection, and the next request reports it.
        func startWarmUp(_ key: String) {
            guard !warmingUp.contains(key), let entry = warm[key] else { return }
            guard
                let transfer = try? CurlTransfer(
                    request: entry.request, consumer: DiscardingConsumer(), cancelToken: HTTPCancelToken(),
                    origin: entry.origin, isWarmUp: true)
            else { return }
            if add(transfer) { warmingUp.insert(key) }
        }

        while true {
            let commands = queue.withLock { pending in
                defer { pending.removeAll() }
                return pending
            }
            for box in commands {
                switch box.command {
                case .add(let transfer):
                    if transfer.cancelToken.isCancelled {
                        transfer.finish(error: .cancelled())
                        continue
                    }
                    warm[transfer.origin.key]?.lastUsed = .now
                    _ = add(transfer)
                case .cancel(let token):
                    for transfer in active.values where transfer.cancelToken === token {
                        // Removing an unfinished transfer makes curl close its connection, not drain it.
                        remove(transfer)
                        transfer.finish(error: .cancelled())
                    }
                case .resume(let token):
                    for transfer in active.values where transfer.cancelToken === token { transfer.resume() }
                case .warmUp(let request):
                    let origin = origin(for: request)
                    warm[origin.key] = WarmOrigin(origin: origin, request: request, lastUsed: .now)
                    if !origin.hasConnection { startWarmUp(origin.key) }
                case .stop(let stopped):
                    for transfer in active.values {
                        remove(transfer)
                        transfer.finish(error: .cancelled())
                    }
                    stopped.signal()
                    // Parked for good: the process is exiting.
                    while true { sleep(3600) }
                }
            }

            var running: Int32 = 0
            CCurl_multi_perform(multi.handle, &running)

            var left: Int32 = 0
            while let message = CCurl_multi_info_read(multi.handle, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let result = message.pointee.data.result
                if let transfer = active[UInt(bitPattern: easy)] {
                    remove(transfer)
                    transfer.finish(code: result)
                }
            }

            // Our own idle timeout (no byte for idleTimeout seconds, before or after the headers); curl's
            // low-speed limit only counts whole seconds.
            let now = ContinuousClock.Instant.now
            for transfer in active.values
            where !transfer.paused && now - transfer.lastActivity > .seconds(transfer.idleTimeout) {
                remove(transfer)
                let seconds = transfer.idleTimeout.decimalText(maxFractionDigits: 3)
                transfer.finish(error: .own("Timeout", "No data from the endpoint for \(seconds) s"))
            }

            // Wake at least every 100 ms while transfers run, for the idle check; otherwise sleep until woken
            // or until an idle connection of a warm origin becomes readable.
            var timeout = 100
            if active.isEmpty {
                timeout = 60_000
            } else {
                var curlTimeout = -1
                CCurl_multi_timeout(multi.handle, &curlTimeout)
                if curlTimeout >= 0 { timeout = min(timeout, curlTimeout) }
            }
            // The idle connections of warm origins: those no running transfer uses (told apart by their ports).
            warm = warm.filter { now - $0.value.lastUsed < keepWarm }
            // One libcurl closed because the peer had (it checks before reuse, sometimes before the watch
            // below sees it), or cut off with its answer unread: open another while the origin is warm.
            for (key, entry) in warm where entry.origin.takeLostConnection() && !entry.origin.hasConnection {
                startWarmUp(key)
            }
            var watched: [curl_waitfd] = []
            var watchedKeys: [String] = []
            var busy: Set<ConnectionOrigin.Ports> = []
            if !warm.isEmpty {
                for transfer in active.values {
                    var local = 0
                    var remote = 0
                    CCurl_easy_getinfo_long(transfer.handle, CURLINFO_LOCAL_PORT, &local)
                    CCurl_easy_getinfo_long(transfer.handle, CURLINFO_PRIMARY_PORT, &remote)
                    if local > 0 { busy.insert(ConnectionOrigin.Ports(local: local, remote: remote)) }
                }
            }
            for (key, entry) in warm {
                for socket in entry.origin.watched where !busy.contains(ConnectionOrigin.ports(socket)) {
                    watched.append(curl_waitfd(fd: socket, events: Int16(CURL_WAIT_POLLIN), revents: 0))
                    watchedKeys.append(key)
                }
            }
            watched.withUnsafeMutableBufferPointer { fds in
                _ = CCurl_multi_poll(multi.handle, fds.baseAddress, UInt32(fds.count), Int32(timeout), nil)
            }
            for (index, wait) in watched.enumerated() where wait.revents != 0 {
                warm[watchedKeys[index]]?.origin.markFound(wait.fd)
                startWarmUp(watchedKeys[index])
            }
        }
    }
}

/// Owns the libcurl multi handle; freed in deinit (the shared loop lives as long as the process).
private final class MultiHandle: Sendable {
    /// Only the loop thread uses it, except curl_multi_wakeup, which libcurl documents as thread-safe.
    nonisolated(unsafe) let handle: UnsafeMutableRawPointer

    init?() {
        guard let handle = CCurl_multi_init() else { return nil }
        self.handle = handle
        // Idle connections libcurl keeps, over all origins, before it closes the oldest: high enough that a
        // burst of concurrent chats (HTTP/1.1 opens one connection each) does not push a warmed one out.
        // They last at most ConnectionOrigin.keepWarmSeconds idle (CURLOPT_MAXAGE_CONN).
        _ = CCurl_multi_setopt_long(handle, CURLMOPT_MAXCONNECTS, 256)
    }

    deinit { CCurl_multi_cleanup(handle) }
}
