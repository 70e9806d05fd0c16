import Foundation
import Synchronization

/// The one owner of the output stream. Frames are queued whole and written in order by a thread of
/// its own, so a slow reader never blocks Swift's cooperative pool.
///
/// The queue is bounded: when more than `limit` bytes wait, `send` suspends its caller until the
/// reader catches up (back-pressure), so a client that stops reading cannot make the server grow
/// without bound. A write error (the reader is gone) closes the writer; later sends are dropped.
final class OutputWriter: Sendable {
    private struct State {
        var queue: [[UInt8]] = []
        var head = 0
        var queuedBytes = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
        var finishing = false
    }

    private let fd: Int32
    private let limit: Int
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let drained = DispatchSemaphore(value: 0)
    private let onClose: @Sendable () -> Void

    init(fd: Int32, limit: Int = 4 << 20, onClose: @escaping @Sendable () -> Void) {
        self.fd = fd
        self.limit = limit
        self.onClose = onClose
        let thread = Thread { [self] in run() }
        thread.name = "contenox-stdout"
        thread.start()
    }

    /// Queues one frame; while the queue is over its limit, waits for the writer to drain it.
    func send(_ frame: [UInt8]) async {
        while !enqueue(frame) {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.closed || state.queuedBytes < limit { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Queues a frame without waiting: for answers that must go out at once (cancellation, errors).
    func sendNow(_ frame: [UInt8]) {
        _ = enqueue(frame, force: true)
    }

    /// Adds the frame if the queue has room (or `force`); false means wait and try again.
    private func enqueue(_ frame: [UInt8], force: Bool = false) -> Bool {
        let queued = state.withLock { state -> Bool in
            if state.closed { return true }
            if !force && state.queuedBytes >= limit { return false }
            state.queue.append(frame)
            state.queuedBytes += frame.count
            return true
        }
        if queued { wake.signal() }
        return queued
    }

    /// Blocks until every queued frame is written (or the writer closed), at most `timeout` seconds.
    func flush(timeout: Double) {
        let empty = state.withLock { state -> Bool in
            if state.closed || state.queuedBytes == 0 { return true }
            state.finishing = true
            return false
        }
        if !empty {
            wake.signal()
            _ = drained.wait(timeout: .now() + timeout)
        }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    private func run() {
        while true {
            wake.wait()
            while let frame = next() {
                if !writeAll(frame) {
                    close()
                    return
                }
                resumeWaiters()
            }
            let notify = state.withLock { state -> Bool in
                defer { state.finishing = false }
                return state.finishing && state.queuedBytes == 0
            }
            if notify { drained.signal() }
        }
    }

    private func next() -> [UInt8]? {
        state.withLock { state -> [UInt8]? in
            guard state.head < state.queue.count else {
                state.queue.removeAll(keepingCapacity: true)
                state.head = 0
                return nil
            }
            let frame = state.queue[state.head]
            state.queue[state.head] = []
            state.head += 1
            state.queuedBytes -= frame.count
            if state.head > 1024 && state.head * 2 > state.queue.count {
                state.queue.removeFirst(state.head)
                state.head = 0
            }
            return frame
        }
    }

    private func resumeWaiters() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard state.queuedBytes < limit, !state.waiters.isEmpty else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func close() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.closed = true
            state.queue.removeAll()
            state.queuedBytes = 0
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
        drained.signal()
        onClose()
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }
}
