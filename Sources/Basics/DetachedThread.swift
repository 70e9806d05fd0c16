internal import CLinux
import Glibc

/// Starts OS threads for blocking work (read(2), curl_multi_poll, waitpid) that must stay off Swift's
/// cooperative pool. A pthread of our own rather than Foundation's Thread, which would link all of Foundation.
public enum DetachedThread {
    /// Runs `body` on a new detached thread named `name` (the kernel keeps the first 15 bytes).
    /// `stackSize` nil means the pthread default (the stack rlimit, usually 8 MiB of address space).
    public static func start(name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        if let stackSize { pthread_attr_setstacksize(&attributes, stackSize) }

        let context = Unmanaged.passRetained(Context(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, &attributes,
            { raw in
                let context = Unmanaged<Context>.fromOpaque(raw!).takeRetainedValue()
                _ = CLinux_set_thread_name(context.name)
                context.body()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<Context>.fromOpaque(context).release()
            fatalError("pthread_create for \(name) failed: \(String(cString: strerror(result)))")
        }
    }

    /// What the new thread runs; retained across pthread_create, released by the thread.
    private final class Context: Sendable {
        let name: String
        let body: @Sendable () -> Void

        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}
