import Basics
import Dispatch
import Glibc
import Locking

/// The one owner of the output stream. Frames are queued whole (as pieces: a header and a body) and
/// written in order by a thread of its own, so a slow reader never blocks Swift's cooperative pool;
/// everything queued goes out with writev(2), without copying it together first.
///
/// The queue is bounded: when more than `limit` bytes wait, `send` suspends its caller until the
/// reader catches up (back-pressure), so a client that stops reading cannot make the server grow
/// without bound. A write error (the reader is gone) closes the writer; later sends are dropped.
final class OutputWriter: Sendable {
    private struct State {
        /// Pieces of frames, in order.
        var queue: [[UInt8]] = []
        var queuedBytes = 0
        /// Senders waiting for room in the queue: suspended tasks and blocked threads alike.
        var waiters: [@Sendable () -> Void] = []
        var closed = false
        var finishing = false
        /// The writer thread is waiting for work: only then does a new frame need to wake it.
        var writerIdle = false
        /// A batch taken from the queue is being written.
        var writing = false
    }

    private let fd: Int32
    private let limit: Int
    private let state = LockedValue(State())
    private let wake = DispatchSemaphore(value: 0)
    private let drained = DispatchSemaphore(value: 0)
    private let onClose: @Sendable () -> Void

    init(fd: Int32, limit: Int = 4 << 20, onClose: @escaping @Sendable () -> Void) {
        self.fd = fd
        self.limit = limit
        self.onClose = onClose
        DetachedThread.start(name: "contenox-stdout") { [self] in run() }
    }

    /// Queues one frame (its pieces are written back to back); while the queue is over its limit, waits
    /// for the writer to drain it.
    func send(_ frame: [[UInt8]]) async {
        while !enqueue(frame) {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.closed || state.queuedBytes < limit { return true }
                    state.waiters.append { continuation.resume() }
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Like `send`, for a thread that may block (the reader's): it waits for room without a task.
    func sendBlocking(_ frame: [[UInt8]]) {
        while !enqueue(frame) {
            let room = DispatchSemaphore(value: 0)
            let ready = state.withLock { state -> Bool in
                if state.closed || state.queuedBytes < limit { return true }
                state.waiters.append { room.signal() }
                return false
            }
            if !ready { room.wait() }
        }
    }

    /// Adds the frame if the queue has room; false means wait and try again.
    private func enqueue(_ frame: [[UInt8]]) -> Bool {
        let (queued, wakeWriter) = state.withLock { state -> (Bool, Bool) in
            if state.closed { return (true, false) }
            if state.queuedBytes >= limit { return (false, false) }
            for piece in frame where !piece.isEmpty {
                state.queue.append(piece)
                // A piece costs its bytes and its allocation: many small frames weigh what they hold.
                state.queuedBytes += piece.count + Self.pieceOverhead
            }
            defer { state.writerIdle = false }
            return (true, state.writerIdle)
        }
        if wakeWriter { wake.signal() }
        return queued
    }

    /// Blocks until every queued frame is written (or the writer closed), at most `timeout` seconds.
    func flush(timeout: Double) {
        let empty = state.withLock { state -> Bool in
            if state.closed || (state.queue.isEmpty && !state.writing) { return true }
            state.finishing = true
            return false
        }
        if !empty {
            _ = drained.wait(timeout: .now() + timeout)
        }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    private func run() {
        while true {
            // Deciding to sleep and answering a flush happen under one lock, so neither is missed.
            let (idle, notify) = state.withLock { state -> (Bool, Bool) in
                let empty = state.queue.isEmpty
                let notify = empty && state.finishing
                if notify { state.finishing = false }
                state.writerIdle = empty
                return (empty, notify)
            }
            if notify { drained.signal() }
            if idle { wake.wait() }
            while let pieces = next() {
                if !writeAll(pieces) {
                    close()
                    return
                }
                resumeWaiters()
            }
        }
    }

    /// Takes every queued piece, so that one writev(2) carries all that is waiting.
    private func next() -> [[UInt8]]? {
        state.withLock { state -> [[UInt8]]? in
            state.writing = !state.queue.isEmpty
            guard state.writing else { return nil }
            defer {
                state.queue.removeAll(keepingCapacity: state.queue.capacity <= 4096)
                state.queuedBytes = 0
            }
            return state.queue
        }
    }

    private func resumeWaiters() {
        let waiters = state.withLock { state -> [@Sendable () -> Void] in
            guard state.queuedBytes < limit, !state.waiters.isEmpty else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter() }
    }

    private func close() {
        let waiters = state.withLock { state -> [@Sendable () -> Void] in
            state.closed = true
            state.queue.removeAll()
            state.queuedBytes = 0
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter() }
        drained.signal()
        onClose()
    }

    /// What one queued piece costs beyond its bytes (array header, malloc's own), counted against the limit.
    private static let pieceOverhead = 64

    /// IOV_MAX on Linux (a macro Swift does not import).
    private static let maxVectors = 1024

    /// Writes the pieces in order with writev(2), at most IOV_MAX at a time, resuming after short writes.
    private func writeAll(_ pieces: [[UInt8]]) -> Bool {
        var index = 0  // the first piece not yet written in full
        var offset = 0  // bytes of it already written
        while index < pieces.count {
            let batch = min(pieces.count - index, Self.maxVectors)
            var vectors: [iovec] = []
            vectors.reserveCapacity(batch)
            // `pieces` holds the arrays unchanged until this returns, so their storage does not move; empty
            // pieces were never queued, so every base address exists.
            for position in index..<index + batch {
                pieces[position].withUnsafeBytes { raw in
                    let skip = position == index ? offset : 0
                    vectors.append(
                        iovec(
                            iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress! + skip),
                            iov_len: raw.count - skip))
                }
            }
            let written = writev(fd, vectors, Int32(vectors.count))
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            var remaining = written
            while remaining > 0, index < pieces.count {
                let left = pieces[index].count - offset
                if remaining >= left {
                    remaining -= left
                    index += 1
                    offset = 0
                } else {
                    offset += remaining
                    remaining = 0
                }
            }
        }
        return true
    }
}
