import Locking

/// The turns of each session, in the order they were reserved: one runs at a time, and the next begins when
/// it ends. So two chats sent on one session run one after the other, the second seeing the first's answer.
final class SessionTurns: Sendable {
    private struct State {
        var nextTicket: UInt64 = 0
        /// Per session: tickets waiting or running, the running one first.
        var queues: [String: [UInt64]] = [:]
        /// Tickets whose `begin` waits for their turn.
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = LockedValue(State())

    func reserve(_ sessionID: String) -> SessionTurn {
        let ticket = state.withLock { state -> UInt64 in
            state.nextTicket += 1
            state.queues[sessionID, default: []].append(state.nextTicket)
            return state.nextTicket
        }
        return SessionTurn(turns: self, sessionID: sessionID, ticket: ticket)
    }

    /// Returns once `ticket` heads its session's queue, or at once when the calling task is cancelled.
    func wait(_ sessionID: String, _ ticket: UInt64) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.queues[sessionID]?.first == ticket || Task.isCancelled { return true }
                    state.waiters[ticket] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: ticket) }?.resume()
        }
    }

    /// Takes `ticket` out of its session's queue (it ran, or will not run) and lets the next one begin.
    func remove(_ sessionID: String, _ ticket: UInt64) {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard var queue = state.queues[sessionID], let position = queue.firstIndex(of: ticket) else { return nil }
            queue.remove(at: position)
            state.queues[sessionID] = queue.isEmpty ? nil : queue
            guard position == 0, let head = queue.first else { return nil }
            return state.waiters.removeValue(forKey: head)
        }
        next?.resume()
    }
}

/// One reserved turn of a session: `begin` waits for the turns reserved before it, `end` lets the next one
/// begin. `end` may be called whether or not the turn began, and more than once.
public final class SessionTurn: Sendable {
    private let turns: SessionTurns
    private let sessionID: String
    private let ticket: UInt64
    private let ended = LockedValue(false)

    fileprivate init(turns: SessionTurns, sessionID: String, ticket: UInt64) {
        self.turns = turns
        self.sessionID = sessionID
        self.ticket = ticket
    }

    public func begin() async {
        await turns.wait(sessionID, ticket)
    }

    public func end() {
        let first = ended.withLock { ended -> Bool in
            defer { ended = true }
            return !ended
        }
        if first { turns.remove(sessionID, ticket) }
    }

    deinit { end() }
}
