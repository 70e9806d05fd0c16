import Foundation
import JSON
import TestSupport
import Testing

@testable import Bedrock

/// `BedrockClient.warmUp`: the connection it opens is the one requests use, it is reopened when the peer closes
/// it while idle, and a warm-up that cannot work is silent. Each test has a stand-in of its own, whose counters
/// say how many connections carried requests (`connections`) and how many are open (`openConnections`).
@Suite struct WarmUpTests {
    static func chat(_ client: BedrockClient, _ text: String) async -> StandInSupport.Collected {
        await StandInSupport.collect(client.converseStream(StandInSupport.request(text)))
    }

    static func int(_ stats: JSONValue, _ name: String) -> Int64 { stats[name]?.intValue ?? -1 }

    @Test func warmUpOpensTheConnectionThatRequestsThenReuse() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let client = StandInSupport.client(standIn)
        client.warmUp()
        let warmed = try await standIn.stats { Self.int($0, "requests") == 1 && Self.int($0, "openConnections") == 1 }
        #expect(Self.int(warmed, "connections") == 1)
        #expect(Self.int(warmed, "requests") == 1)
        let warmUp = try #require(standIn.requests().arrayValue?.first)
        #expect(warmUp["method"] == "GET")
        #expect(warmUp["path"] == "/")
        #expect(warmUp["headers"]?["Authorization"] == nil, "the warm-up is not signed")

        // Warming a warm client again opens nothing; the chats ride the warmed connection.
        client.warmUp()
        for i in 0..<3 {
            let answer = await Self.chat(client, "turn \(i)")
            #expect(answer.error == nil)
            #expect(answer.text == "Echo: turn \(i)")
            client.warmUp()
        }
        let after = try standIn.stats()
        #expect(Self.int(after, "connections") == 1, "\(after.jsonString)")
        #expect(Self.int(after, "openConnections") == 1, "\(after.jsonString)")
        #expect(Self.int(after, "requests") == 4, "one warm-up and three chats: \(after.jsonString)")
    }

    @Test func aConnectionThePeerClosesWhileIdleIsReopenedBeforeTheNextRequest() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let client = StandInSupport.client(standIn)
        client.warmUp()
        // The warm-up runs on a thread of its own: a chat sent before it arrives would open the connection
        // itself (and the warm-up then none), which is right but not what this test counts.
        _ = try await standIn.stats { Self.int($0, "requests") == 1 && Self.int($0, "openConnections") == 1 }
        let first = await Self.chat(client, "before the close")
        #expect(first.error == nil)

        // The stand-in closes its idle connection (once the chat's answer is fully written, it is idle).
        let deadline = ContinuousClock.now + .seconds(TestScale.seconds(20))
        var closed = 0
        while closed == 0, ContinuousClock.now < deadline {
            closed = try standIn.closeIdleConnections()
            if closed == 0 { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(closed == 1)

        // A second connection is opened without any request asking for it: the warm-up request again.
        let reopened = try await standIn.stats {
            Self.int($0, "connections") == 2 && Self.int($0, "openConnections") == 1 && Self.int($0, "requests") == 3
        }
        #expect(Self.int(reopened, "connections") == 2, "\(reopened.jsonString)")
        #expect(Self.int(reopened, "openConnections") == 1, "\(reopened.jsonString)")
        #expect(Self.int(reopened, "requests") == 3, "warm-up, chat, warm-up again: \(reopened.jsonString)")

        let second = await Self.chat(client, "after the close")
        #expect(second.error == nil)
        #expect(second.text == "Echo: after the close")
        let after = try standIn.stats()
        #expect(Self.int(after, "connections") == 2, "the chat used the reopened connection: \(after.jsonString)")
        #expect(Self.int(after, "openConnections") == 1, "\(after.jsonString)")
    }

    @Test func twoChatsAtOnceOnAWarmClient() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let client = StandInSupport.client(standIn)
        client.warmUp()
        _ = try await standIn.stats { Self.int($0, "requests") == 1 && Self.int($0, "openConnections") == 1 }
        async let one = Self.chat(client, "one @@tokens=20 @@delay-ms=5")
        async let two = Self.chat(client, "two @@tokens=20 @@delay-ms=5")
        let (a, b) = await (one, two)
        #expect(a.error == nil && b.error == nil)
        #expect(a.deltaCount == 20 && b.deltaCount == 20)
        // The stand-in speaks HTTP/1.1: the second chat needs a connection of its own, and no more than that.
        client.warmUp()
        let after = try standIn.stats()
        #expect(Self.int(after, "connections") <= 2, "\(after.jsonString)")
        #expect(Self.int(after, "openConnections") == Self.int(after, "connections"), "\(after.jsonString)")
    }

    @Test func aWarmUpThatCannotConnectIsSilentAndTheChatReportsTheError() async throws {
        // Port 1 on the loopback refuses connections.
        let client = BedrockClient(
            backend: BackendSettings(name: "nowhere", url: "http://127.0.0.1:1", region: "us-east-1"),
            environment: StandInSupport.environment(), options: StandInSupport.options(maxAttempts: 1))
        client.warmUp()
        client.warmUp()
        let answer = await Self.chat(client, "hello")
        #expect(answer.error?.type == "ConnectionFailed")
        #expect(answer.events.isEmpty)
    }

    @Test func aWarmUpWithoutCredentialsIsSilentAndTheChatReportsThem() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let client = StandInSupport.client(standIn, environment: StandInSupport.environment(keys: false))
        client.warmUp()
        // The connection needs no credentials: it is opened all the same.
        let warmed = try await standIn.stats { Self.int($0, "requests") == 1 && Self.int($0, "openConnections") == 1 }
        #expect(Self.int(warmed, "connections") == 1)
        let answer = await Self.chat(client, "hello")
        #expect(answer.error?.type == "CredentialsNotFound")
        #expect(Self.int(try standIn.stats(), "requests") == 1, "the chat sent nothing")
    }
}
