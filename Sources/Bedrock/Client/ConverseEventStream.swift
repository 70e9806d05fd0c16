import Locking

/// The events of one ConverseStream answer as they are decoded. Iterate it for events one by one, or
/// `batches` for them in the groups they arrived in (all the events of one network read), which is cheaper
/// when a fast stream carries many small deltas per read.
///
/// Cancelling the iterating Task (or dropping the stream) aborts the HTTP transfer. Errors thrown are
/// BedrockError.
///
/// Back-pressure: decoded events that the consumer has not taken yet are counted (by payload size); past
/// `StreamFlow.pauseBytes` the transfer stops reading from the connection (TCP then slows the sender),
/// and it reads again once the consumer has taken all but `StreamFlow.resumeBytes`. A consumer that falls
/// behind libcurl therefore holds about a megabyte of events, not the whole answer.
public struct ConverseEventStream: AsyncSequence, Sendable {
    public typealias Element = ConverseStreamEvent

    public let batches: Batches

    init(stream: AsyncThrowingStream<EventBatch, any Error>, flow: StreamFlow) {
        batches = Batches(stream: stream, flow: flow)
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(batches: batches.makeAsyncIterator())
    }

    public struct Iterator: AsyncIteratorProtocol {
        var batches: Batches.Iterator
        var pending: [ConverseStreamEvent] = []
        var index = 0

        public mutating func next() async throws -> ConverseStreamEvent? {
            while index == pending.count {
                guard let batch = try await batches.next() else { return nil }
                pending = batch
                index = 0
            }
            defer { index += 1 }
            return pending[index]
        }
    }

    /// The events in the groups they were decoded in; never an empty group.
    public struct Batches: AsyncSequence, Sendable {
        public typealias Element = [ConverseStreamEvent]

        let stream: AsyncThrowingStream<EventBatch, any Error>
        let flow: StreamFlow

        public func makeAsyncIterator() -> Iterator {
            Iterator(inner: stream.makeAsyncIterator(), flow: flow)
        }

        public struct Iterator: AsyncIteratorProtocol {
            var inner: AsyncThrowingStream<EventBatch, any Error>.AsyncIterator
            let flow: StreamFlow

            public mutating func next() async throws -> [ConverseStreamEvent]? {
                guard let batch = try await inner.next() else { return nil }
                flow.taken(batch.bytes)
                return batch.events
            }
        }
    }
}

/// The events decoded from one chunk of the body, and the payload bytes they came from.
struct EventBatch: Sendable {
    var events: [ConverseStreamEvent]
    var bytes: Int
}

/// Counts what the transfer has decoded and the consumer has not taken, and pauses and resumes the
/// transfer around it (see `ConverseEventStream`).
final class StreamFlow: Sendable {
    static let pauseBytes = 1 << 20
    static let resumeBytes = 256 << 10

    private struct State {
        var pending = 0
        var paused = false
    }

    private let state = LockedValue(State())
    private let control: TokenHolder

    init(control: TokenHolder) {
        self.control = control
    }

    /// Decoded bytes the consumer has not taken yet.
    var pendingBytes: Int { state.withLock { $0.pending } }

    /// On the transfer's thread, before decoding a chunk: false means pause the transfer now.
    func admit() -> Bool {
        state.withLock { state in
            if state.pending >= Self.pauseBytes {
                state.paused = true
                return false
            }
            return true
        }
    }

    /// On the transfer's thread, when a batch is handed to the stream.
    func added(_ bytes: Int) {
        state.withLock { $0.pending += bytes }
    }

    /// On the consumer's side, when it takes a batch; resumes a paused transfer once little is left.
    func taken(_ bytes: Int) {
        let resume = state.withLock { state -> Bool in
            state.pending -= bytes
            guard state.paused, state.pending <= Self.resumeBytes else { return false }
            state.paused = false
            return true
        }
        if resume { control.resume() }
    }
}
