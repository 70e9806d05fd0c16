import Foundation
import JSON
import RPCServer
import TestSupport
import Testing

/// `contenox serve` warms the default backend: on `initialize` and when `config/set default-provider` names
/// another, the stand-in sees a connection open before any chat, and the chats then use it. A backend that
/// cannot be warmed changes nothing an editor sees.
@Suite struct PrewarmTests {
    typealias Fixture = ChatEndToEndTests.Fixture

    static func int(_ stats: JSONValue, _ name: String) -> Int64 { stats[name]?.intValue ?? -1 }

    /// The stand-in's counters once it has seen the warm-up (one connection, one request) or a long deadline.
    static func warmed(_ standIn: StandIn) async throws -> JSONValue {
        try await standIn.stats { int($0, "requests") == 1 && int($0, "openConnections") == 1 }
    }

    @Test func initializeOpensTheDefaultBackendsConnectionAndChatsReuseIt() async throws {
        let standIn = try StandIn.start()
        defer { standIn.stop() }
        let fixture = try Fixture(standIn: standIn)
        #expect(Self.int(try standIn.stats(), "connections") == 0, "the CLI set-up connects to nothing")
        let server = try await fixture.server()

        let warmed = try await Self.warmed(standIn)
        #expect(Self.int(warmed, "connections") == 1, "\(warmed.jsonString)")
        #expect(try standIn.requests().arrayValue?.first?["path"] == "/")

        for id in 1...2 {
            server.writer.request(.int(Int64(id)), "chat/stream", ["prompt": .string("turn \(id)"), "ephemeral": true])
            let answer = try await server.collector.response(id: .int(Int64(id)))
            #expect(ChatEndToEndTests.text(of: answer["result"]) == "Echo: turn \(id)", "\(answer.jsonString)")
        }
        let after = try standIn.stats()
        #expect(Self.int(after, "connections") == 1, "both chats rode the warmed connection: \(after.jsonString)")
        #expect(Self.int(after, "openConnections") == 1, "\(after.jsonString)")
        #expect(Self.int(after, "requests") == 3, "\(after.jsonString)")
    }

    @Test func settingTheDefaultProviderWarmsTheNewDefault() async throws {
        let first = try StandIn.start()
        defer { first.stop() }
        let second = try StandIn.start()
        defer { second.stop() }
        let fixture = try Fixture(standIn: first)
        try fixture.cli([
            "backend", "add", "other", "--type", "bedrock", "--url", second.baseURL, "--region", "us-east-1",
        ])
        let server = try await fixture.server()
        _ = try await Self.warmed(first)
        #expect(Self.int(try second.stats(), "connections") == 0, "only the default is warmed")

        server.writer.request(1, "config/set", ["key": "default-provider", "value": "other"])
        let set = try await server.collector.response(id: 1)
        #expect(set["result"]?["value"] == "other", "\(set.jsonString)")
        let warmed = try await Self.warmed(second)
        #expect(Self.int(warmed, "connections") == 1, "\(warmed.jsonString)")
        #expect(Self.int(warmed, "requests") == 1, "\(warmed.jsonString)")
    }

    /// No credentials, or a backend nobody listens on: `initialize` is answered as ever, and the chat reports
    /// the same error it reports without a warm-up.
    @Test(arguments: [(false, "CredentialsNotFound"), (true, "ConnectionFailed")])
    func aBackendThatCannotBeWarmedFailsOnlyItsChat(keys: Bool, type: String) async throws {
        let fixture = try Fixture(keys: keys)
        if type == "ConnectionFailed" {
            // Port 1 on the loopback refuses connections.
            try fixture.cli([
                "backend", "add", "nowhere", "--type", "bedrock", "--url", "http://127.0.0.1:1", "--region",
                "us-east-1",
            ])
            try fixture.cli(["config", "set", "default-provider", "nowhere"])
        }
        let server = try await fixture.server()
        server.writer.request(1, "backend/list", [:])
        #expect(try await server.collector.response(id: 1)["result"] != nil)
        server.writer.request(2, "chat/stream", ["prompt": "hi", "ephemeral": true])
        let answer = try await server.collector.response(id: 2)
        #expect(answer["error"]?["data"]?["type"] == .string(type), "\(answer.jsonString)")
    }
}
