import JSON
import Locking

/// Stands between a stream's events and a client that may read more slowly than Bedrock writes.
///
/// The stream loop `push`es notifications and never waits; a sender takes them with `next` and writes
/// them, waiting for the client as long as it must. While it waits, adjacent text (and tool-input)
/// deltas of the same content block are merged into the notification already pending, so a client
/// that falls behind gets fewer, larger `chat/delta`s instead of the server queueing without bound.
/// A client that keeps up sees every delta as it was decoded.
final class NotificationOutbox: Sendable {
    struct Item {
        var method: String
        var params: JSONObject
        /// For a mergeable delta: the block index and which member carries the string.
        var merge: (index: Int64, kind: DeltaKind)?
        /// The merged string (text or tool input), appended in place and written into `params` when the
        /// item leaves; nil for an item that is not a mergeable delta.
        var merged: String?
        /// How many deltas were merged into this item.
        var deltas: Int
    }

    enum DeltaKind: Equatable {
        case text
        case toolInput
    }

    private struct State {
        var items: [Item] = []
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = LockedValue(State())

    /// Queues a notification, merging a delta into a pending one of the same block and kind.
    func push(method: String, params: JSONObject) {
        let merge = Self.mergeKey(method: method, params: params)
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let merge, let last = state.items.last, let key = last.merge, key.index == merge.index,
                key.kind == merge.kind
            {
                state.items[state.items.count - 1].merged?.append(merge.piece)
                state.items[state.items.count - 1].deltas += 1
            } else {
                state.items.append(
                    Item(
                        method: method, params: params, merge: merge.map { ($0.index, $0.kind) },
                        merged: merge?.piece, deltas: 1))
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

    /// The oldest pending notification, waiting for one; nil when finished and drained.
    func next() async -> (method: String, params: JSONObject)? {
        while true {
            enum Step {
                case item(Item)
                case done
                case wait
            }
            let step = state.withLock { state -> Step in
                if !state.items.isEmpty { return .item(state.items.removeFirst()) }
                return state.finished ? .done : .wait
            }
            switch step {
            case .item(let item): return (item.method, Self.materialise(item))
            case .done: return nil
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state -> Bool in
                        if !state.items.isEmpty || state.finished { return true }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            }
        }
    }

    private static func mergeKey(method: String, params: JSONObject) -> (index: Int64, kind: DeltaKind, piece: String)?
    {
        guard method == "chat/delta", let index = params["contentBlockIndex"]?.intValue,
            case .object(let delta)? = params["delta"], delta.count == 1
        else { return nil }
        if case .string(let text)? = delta["text"] { return (index, .text, text) }
        if case .object(let tool)? = delta["toolUse"], tool.count == 1, case .string(let input)? = tool["input"] {
            return (index, .toolInput, input)
        }
        return nil
    }

    private static func materialise(_ item: Item) -> JSONObject {
        guard let merge = item.merge, let joined = item.merged, item.deltas > 1 else { return item.params }
        var params = item.params
        switch merge.kind {
        case .text: params["delta"] = ["text": .string(joined)]
        case .toolInput: params["delta"] = ["toolUse": ["input": .string(joined)]]
        }
        return params
    }
}
