import Foundation
import JSON
import Locking
import TestSupport
import Testing

@testable import Bedrock

/// The libcurl transport on its own, against Fixtures/http/http_fixture.py (slow, stalled, cut bodies).
@Suite(.serialized) final class HTTPTransportTests {
    let process: Process
    let base: String

    init() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/http/http_fixture.py").path
        let portFile = FileManager.default.temporaryDirectory.appendingPathComponent("fixture-\(UUID().uuidString)")
            .path
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, portFile]
        try process.run()
        var port = 0
        for _ in 0..<500 where port == 0 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8) { port = Int(text) ?? 0 }
            if port == 0 { usleep(10_000) }
        }
        try? FileManager.default.removeItem(atPath: portFile)
        base = "http://127.0.0.1:\(port)"
    }

    deinit {
        // SIGKILL: the fixture may inherit an ignored SIGTERM from the test runner.
        kill(process.processIdentifier, SIGKILL)
        process.reap()
    }

    func stats() async throws -> JSONValue {
        try JSONValue.parse(try await HTTPTransport.send(HTTPRequest(method: "GET", url: base + "/stats")).body)
    }

    @Test func postEchoesBodyAndSuppressesExpect() async throws {
        let body = Array(String(repeating: "x", count: 2_000_000).utf8)
        let response = try await HTTPTransport.send(
            HTTPRequest(
                method: "POST", url: base + "/echo",
                headers: [
                    ("Content-Type", "application/json"),
                    ("X-Custom", "v"),
                ], body: body))
        #expect(response.status == 200)
        let json = try JSONValue.parse(response.body)
        #expect(json["body"]?.stringValue?.utf8.count == body.count)
        #expect(json["headers"]?["expect"] == nil)
        #expect(json["headers"]?["accept"] == nil)
        #expect(json["headers"]?["x-custom"] == "v")
        #expect(json["headers"]?["content-type"] == "application/json")
    }

    @Test func putWithEmptyBody() async throws {
        let response = try await HTTPTransport.send(HTTPRequest(method: "PUT", url: base + "/token"))
        #expect(try JSONValue.parse(response.body)["body"] == "")
    }

    @Test func errorStatusAndHeaders() async throws {
        let response = try await HTTPTransport.send(
            HTTPRequest(method: "GET", url: base + "/status?code=429&type=ThrottlingException"))
        #expect(response.status == 429)
        let error = BedrockError.fromHTTP(status: response.status, headers: response.headers, body: response.body)
        #expect(error.type == "ThrottlingException")
        #expect(error.message == "nope")
    }

    @Test func connectionsAreReused() async throws {
        let before = try await stats()["connections"]?.intValue ?? 0
        for _ in 0..<5 { _ = try await HTTPTransport.send(HTTPRequest(method: "GET", url: base + "/slow?n=1&delay=0")) }
        let after = try await stats()["connections"]?.intValue ?? 0
        #expect(after - before <= 2, "5 sequential requests should share a connection (\(after - before) opened)")
    }

    @Test func refusedConnectionIsConnectionFailed() async {
        do {
            _ = try await HTTPTransport.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:1/"))
            Issue.record("expected ConnectionFailed")
        } catch {
            #expect(error.type == "ConnectionFailed")
            #expect(error.retryable)
            #expect(error.hint.contains("proxy"))
        }
    }

    @Test func stallIsTimeout() async {
        let start = ContinuousClock.now
        let stall = TestScale.milliseconds(3000)  // twice the bound below, so only the idle timeout passes
        do {
            _ = try await HTTPTransport.send(
                HTTPRequest(method: "GET", url: base + "/stall?ms=\(stall)", idleTimeout: 0.3))
            Issue.record("expected Timeout")
        } catch {
            #expect(error.type == "Timeout")
        }
        #expect(ContinuousClock.now - start < TestScale.time(.milliseconds(1500)))
    }

    @Test func cutIsConnectionFailed() async {
        do {
            _ = try await HTTPTransport.send(HTTPRequest(method: "GET", url: base + "/cut"))
            Issue.record("expected ConnectionFailed")
        } catch {
            #expect(error.type == "ConnectionFailed")
        }
    }

    @Test func cancellationAbortsWithinMilliseconds() async throws {
        let before = try await stats()["disconnects"]?.intValue ?? 0
        let request = HTTPRequest(method: "GET", url: base + "/slow?n=200&delay=20")
        let task = Task { try await HTTPTransport.send(request) }
        try await Task.sleep(for: .milliseconds(200))
        let cancelledAt = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - cancelledAt < TestScale.time(.milliseconds(100)))
        #expect(throws: BedrockError.cancelled()) { try result.get() }
        var after = before
        for _ in 0..<40 where after <= before {
            try await Task.sleep(for: .milliseconds(50))
            after = try await stats()["disconnects"]?.intValue ?? 0
        }
        #expect(after > before, "the server saw the connection closed, not drained")
    }

    @Test func streamingConsumerGetsBytesAsTheyArrive() async throws {
        final class Consumer: HTTPResponseConsumer, @unchecked Sendable {
            // Only the loop thread touches the fields until `done` resumes the test.
            var arrivals: [ContinuousClock.Instant] = []
            var status = 0
            let done: @Sendable () -> Void
            init(done: @escaping @Sendable () -> Void) { self.done = done }
            func receive(status: Int, headers: HTTPHeaders) { self.status = status }
            func receive(body: UnsafeRawBufferPointer) -> BodyDisposition {
                arrivals.append(.now)
                return .consumed
            }
            func complete(_ error: BedrockError?) { done() }
        }
        let consumerBox = LockedValue<Consumer?>(nil)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let consumer = Consumer { c.resume() }
            consumerBox.withLock { $0 = consumer }
            _ = HTTPTransport.start(HTTPRequest(method: "GET", url: base + "/slow?n=5&delay=100"), consumer: consumer)
        }
        let consumer = consumerBox.withLock { $0 }!
        #expect(consumer.status == 200)
        #expect(consumer.arrivals.count >= 4)
        if let first = consumer.arrivals.first, let last = consumer.arrivals.last {
            #expect(last - first > .milliseconds(300), "bytes were delivered as they came, not at the end")
        }
    }

    /// Back-pressure: a consumer that pauses gets the same bytes again after `resume`, and a pause longer
    /// than the idle timeout is not a timeout (the network is not what is slow).
    /// Pauses the transfer at the first offer of body bytes and keeps every offer; takes the rest.
    final class PausingConsumer: HTTPResponseConsumer, @unchecked Sendable {
        // Only the loop thread touches the fields until `done` resumes the test.
        var body: [UInt8] = []
        var offers: [[UInt8]] = []
        var error: BedrockError?
        let onFirstOffer: @Sendable () -> Void
        let done: @Sendable () -> Void
        init(onFirstOffer: @escaping @Sendable () -> Void, done: @escaping @Sendable () -> Void) {
            self.onFirstOffer = onFirstOffer
            self.done = done
        }
        func receive(status: Int, headers: HTTPHeaders) {}
        func receive(body bytes: UnsafeRawBufferPointer) -> BodyDisposition {
            offers.append([UInt8](bytes))
            if offers.count == 1 {
                onFirstOffer()
                return .pause
            }
            body.append(contentsOf: bytes)
            return .consumed
        }
        func complete(_ error: BedrockError?) {
            self.error = error
            done()
        }
    }

    @Test func aPausedTransferKeepsItsBytesAndDoesNotTimeOut() async throws {
        let holder = TokenHolder()
        let consumerBox = LockedValue<PausingConsumer?>(nil)
        let paused = ContinuousClock.now
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let consumer = PausingConsumer(
                onFirstOffer: {
                    Task {
                        try? await Task.sleep(for: .milliseconds(600))
                        holder.resume()
                    }
                },
                done: { c.resume() })
            consumerBox.withLock { $0 = consumer }
            let request = HTTPRequest(method: "GET", url: base + "/slow?n=3&delay=10", idleTimeout: 0.2)
            _ = holder.set(HTTPTransport.start(request, consumer: consumer))
        }
        let consumer = consumerBox.withLock { $0 }!
        #expect(consumer.error == nil)
        #expect(String(decoding: consumer.body, as: UTF8.self) == "chunk0;chunk1;chunk2;")
        #expect(consumer.offers.count >= 2)
        #expect(Array(consumer.offers[1].prefix(consumer.offers[0].count)) == consumer.offers[0])
        #expect(ContinuousClock.now - paused > .milliseconds(500))
    }

    /// A resume asked for before the transfer's token is stored (its start has not returned yet, say under
    /// load) is kept and passed on when the token arrives, not dropped: a dropped one left the paused
    /// transfer, which the idle timeout spares, waiting for good.
    @Test(.timeLimit(.minutes(1))) func aResumeAskedForBeforeTheTokenIsStoredIsNotLost() async throws {
        let holder = TokenHolder()
        let (pausedSignal, pausedContinuation) = AsyncStream.makeStream(of: Void.self)
        let (doneSignal, doneContinuation) = AsyncStream.makeStream(of: Void.self)
        let consumer = PausingConsumer(
            onFirstOffer: { pausedContinuation.yield() }, done: { doneContinuation.yield() })
        let request = HTTPRequest(method: "GET", url: base + "/slow?n=3&delay=10", idleTimeout: 0.2)
        let token = HTTPTransport.start(request, consumer: consumer)
        var paused = pausedSignal.makeAsyncIterator()
        _ = await paused.next()
        holder.resume()  // no token yet: kept
        #expect(holder.set(token) == false)  // passes the resume on
        var done = doneSignal.makeAsyncIterator()
        _ = await done.next()
        #expect(consumer.error == nil)
        #expect(String(decoding: consumer.body, as: UTF8.self) == "chunk0;chunk1;chunk2;")
    }
}
