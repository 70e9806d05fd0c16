import Basics

extension Services {
    /// Gets the backend a chat would use ready before the chat comes: its credentials resolved and a
    /// connection to it open (see `BedrockClient.warmUp`). Returns at once; runs on a thread of its own, as
    /// it may open the store; silent when there is no such backend or it cannot be reached (the chat then
    /// reports that, as without it). `backend` nil means the default (`default-provider`, else the only one).
    /// `CONTENOX_PREWARM=0` turns it off (nothing is opened before the first request; the benchmark's baseline).
    public func prewarm(backend: String? = nil) {
        guard environment["CONTENOX_PREWARM"] != "0" else { return }
        DetachedThread.start(name: "contenox.prewarm", stackSize: 1 << 20) { [self] in
            guard let record = try? resolveBackend(backend) else { return }
            client(for: record).warmUp()
        }
    }
}
