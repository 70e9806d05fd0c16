import Basics
import Bedrock
import Glibc
import Locking

extension Services {
    /// Gets the backend a chat would use ready before the chat comes: its credentials resolved and a
    /// connection to it open (see `BedrockClient.warmUp`). Returns at once; runs on a thread of its own, as
    /// it may open the store; silent when there is no such backend or it cannot be reached (the chat then
    /// reports that, as without it). `backend` nil means the default (`default-provider`, else the only one).
    /// `CONTENOX_PREWARM=0` turns it off (nothing is opened before the first request; the benchmark's baseline).
    public func prewarm(backend: String? = nil) {
        guard environment["CONTENOX_PREWARM"] != "0" else { return }
        Self.prewarming.withLock { $0 += 1 }
        DetachedThread.start(name: "contenox.prewarm", stackSize: 1 << 20) { [self] in
            defer { Self.prewarming.withLock { $0 -= 1 } }
            guard let record = try? resolveBackend(backend) else { return }
            client(for: record).warmUp()
        }
    }

    /// Prewarm threads still running (they load libcurl on first use).
    private static let prewarming = LockedValue(0)

    /// Call before the process exits: waits (at most `timeout` seconds in all) for prewarm threads, then
    /// stops the HTTP loop, so that no thread is inside libcurl, its libraries or OpenSSL while the exit
    /// tears them down (a quick `initialize`, `exit` could otherwise crash the process as it left).
    public static func settleBeforeExit(timeout: Double = 2) {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while prewarming.withLock({ $0 }) > 0 && ContinuousClock.now < deadline { usleep(1000) }
        HTTPTransport.stopBeforeExit(timeout: max(0.1, timeout / 2))
    }
}
