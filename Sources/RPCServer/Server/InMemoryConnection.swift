import JSON
import JSONRPC
import Locking

/// A dispatcher's connection held in memory, for tests: bytes go in through the same framer code as a
/// pipe's, and each message that comes out is kept (parsed) for the test to take. No pipes, no threads of
/// its own: `feed` runs the dispatch on the caller's thread.
public final class InMemoryConnection: MessageOutput {
    private struct Output {
        var messages: [JSONValue] = []
        var raw: [[UInt8]] = []
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let output = LockedValue(Output())
    private let reader: LockedValue<(any FrameFeeding)?> = LockedValue(nil)
    public let framing: Framing

    public init(framing: Framing = .lsp) {
        self.framing = framing
    }

    /// Connects a dispatcher made with this connection as its output.
    public func attach(_ dispatcher: Dispatcher, maxMessageBytes: Int = 64 << 20) {
        reader.withLock { $0 = framing.reader(maxMessageBytes: maxMessageBytes, weak: dispatcher) }
    }

    /// Feeds input bytes, framed as the connection's framing says; frames they complete are dispatched now.
    public func feed(_ bytes: [UInt8]) {
        reader.withLock { reader in bytes.withUnsafeBytes { reader?.feed($0) } }
    }

    /// Every message written so far, parsed, in order.
    public var messages: [JSONValue] { output.withLock { $0.messages } }

    /// The bodies written so far, as bytes (to check what exactly went on the wire).
    public var rawMessages: [[UInt8]] { output.withLock { $0.raw } }

    /// Waits until at least `count` messages have been written, or `timeout` seconds pass; returns them.
    public func messages(count: Int, timeout: Double) async -> [JSONValue] {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            let current = messages
            if current.count >= count { return current }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    await withCheckedContinuation { continuation in
                        let ready = output.withLock { state -> Bool in
                            if state.messages.count >= count { return true }
                            state.waiters.append(continuation)
                            return false
                        }
                        if ready { continuation.resume() }
                    }
                }
                group.addTask { try? await Task.sleep(for: .milliseconds(20)) }
                await group.next()
                group.cancelAll()
            }
        }
        return messages
    }

    public func send(_ body: [[UInt8]]) async { record(body) }
    public func sendBlocking(_ body: [[UInt8]]) { record(body) }
    public func flush(timeout: Double) {}

    private func record(_ body: [[UInt8]]) {
        let bytes = body.flatMap { $0 }
        let message = (try? JSONValue.parse(bytes)) ?? .string(String(decoding: bytes, as: UTF8.self))
        let waiters = output.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.messages.append(message)
            state.raw.append(bytes)
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
