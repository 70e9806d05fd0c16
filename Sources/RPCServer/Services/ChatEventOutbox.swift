import JSON
import Locking

/// Stands between a stream's events and a client that may read more slowly than Bedrock writes.
///
/// The stream loop `push`es the events of each batch and never waits; a sender takes them with `next` and
/// hands them to the surface, waiting for the client as long as it must. Adjacent text (and tool-input)
/// deltas of the same content block that are pending together are merged into one event: those of one
/// batch (events that arrived in one network read) always, and later ones while the sender waits for the
/// client. So a client that falls behind gets fewer, larger deltas instead of the server queueing without
/// bound, and a fast stream costs one notification per read rather than per token. Deltas that arrive
/// apart reach a client that keeps up one by one, as they were decoded.
final class ChatEventOutbox: Sendable {
    private struct Item {
        var note: ChatEvent
        /// The block a delta belongs to (nil for a block start).
        var index: Int? {
            switch note {
            case .started, .blockStart, .retrying: return nil
            case .text(let index, _), .delta(let index, _): return index
            }
        }
        /// For a mergeable delta: which member carries the string.
        var kind: DeltaKind?
        /// The merged string (text or tool input), appended in place and written into the delta when the
        /// item leaves; meaningful only when `deltas` > 1.
        var merged: String
        /// How many deltas were merged into this item.
        var deltas: Int
    }

    private enum DeltaKind: Equatable {
        case text
        case toolInput
    }

    private struct State {
        var items: [Item] = []
        var head = 0
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = LockedValue(State())

    /// Queues events, merging each delta into a pending one of the same block and kind.
    func push(_ notes: [ChatEvent]) {
        guard !notes.isEmpty else { return }
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            for note in notes {
                let merge = Self.mergeKey(note)
                if let merge, state.items.count > state.head, let last = state.items.last, last.kind == merge.kind,
                    last.index == merge.index
                {
                    state.items[state.items.count - 1].merged.append(merge.piece)
                    state.items[state.items.count - 1].deltas += 1
                } else {
                    state.items.append(Item(note: note, kind: merge?.kind, merged: merge?.piece ?? "", deltas: 1))
                }
            }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// No more pushes; `next` returns nil once the queue is empty.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// The oldest pending event, waiting for one; nil when finished and drained.
    func next() async -> ChatEvent? {
        while true {
            enum Step {
                case item(Item)
                case done
                case wait
            }
            let step = state.withLock { state -> Step in
                if state.head < state.items.count {
                    let item = state.items[state.head]
                    state.head += 1
                    if state.head == state.items.count {
                        state.items.removeAll(keepingCapacity: state.items.capacity <= 1024)
                        state.head = 0
                    }
                    return .item(item)
                }
                return state.finished ? .done : .wait
            }
            switch step {
            case .item(let item): return materialise(item)
            case .done: return nil
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state -> Bool in
                        if state.head < state.items.count || state.finished { return true }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            }
        }
    }

    private static func mergeKey(_ note: ChatEvent) -> (index: Int, kind: DeltaKind, piece: String)? {
        if case .text(let index, let text) = note { return (index, .text, text) }
        guard case .delta(let index, .object(let delta)) = note, delta.count == 1 else { return nil }
        if case .string(let text)? = delta["text"] { return (index, .text, text) }
        if case .object(let tool)? = delta["toolUse"], tool.count == 1, case .string(let input)? = tool["input"] {
            return (index, .toolInput, input)
        }
        return nil
    }

    private func materialise(_ item: Item) -> ChatEvent {
        guard item.deltas > 1, let kind = item.kind, let index = item.index else { return item.note }
        switch kind {
        case .text: return .text(index: index, text: item.merged)
        case .toolInput: return .delta(index: index, delta: ["toolUse": ["input": .string(item.merged)]])
        }
    }
}
