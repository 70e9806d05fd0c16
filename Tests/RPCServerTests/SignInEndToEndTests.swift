import Foundation
import JSON
import TestSupport
import Testing

/// IAM Identity Center and `aws login` profiles through `contenox serve` and `contenox chat` against the
/// stand-in: a session of three turns keeps working while the sign-in session is refreshed in between, and
/// each way of failing reaches the editor (or the terminal) with the command to run.
@Suite struct SignInEndToEndTests {
    /// A contenox home with the stand-in as its backend, and an AWS environment selecting `profile` from
    /// `sessions` (no keys anywhere else).
    struct Fixture {
        let chat: ChatEndToEndTests.Fixture
        let sessions: SignInSessions
        let environment: [String: String]

        init(profile: String) throws {
            chat = try ChatEndToEndTests.Fixture(keys: false)
            sessions = try SignInSessions(standIn: chat.standIn)
            environment = chat.environment.merging(sessions.environment(profile: profile)) { $1 }
        }

        /// A server that logs at the most verbose level, so that a secret in any log line would show.
        func server() async throws -> ServerHarness {
            let server = try ServerHarness(
                home: chat.home.store, arguments: ["--log-level", "debug"], environment: environment)
            try await server.initialize()
            return server
        }

        func cli(_ arguments: [String]) throws -> CLIResult {
            try runContenox(arguments, home: chat.home.store, environment: environment, timeout: TestScale.seconds(60))
        }
    }

    /// Sends one turn (continuing `sessionID` when given) and returns the response.
    static func turn(_ server: ServerHarness, id: Int, _ prompt: String, sessionID: JSONValue?) async throws
        -> JSONValue
    {
        var params: JSONObject = ["prompt": .string(prompt)]
        if let sessionID { params["sessionId"] = sessionID }
        server.writer.request(.int(Int64(id)), "chat/send", .object(params))
        return try await server.collector.response(id: .int(Int64(id)), timeout: TestScale.seconds(20))
    }

    @Test func ssoSessionOfThreeTurnsSurvivesATokenRefresh() async throws {
        let fixture = try Fixture(profile: "sso-dev")
        let sessions = fixture.sessions
        let first = "access-\(sessions.unique)"
        let client = "client-\(sessions.unique)"
        // Role credentials for 200 s, inside the chain's refresh margin: every turn asks the portal again.
        try sessions.grant(accessToken: first, roleTTL: 200)
        try sessions.writeSSOToken(accessToken: first, expiresIn: 3600, refreshToken: nil)
        let server = try await fixture.server()

        let one = try await Self.turn(server, id: 1, "turn one", sessionID: nil)
        #expect(ChatEndToEndTests.text(of: one["result"]) == "Echo: turn one", "\(one)")
        let sessionID = try #require(one["result"]?["sessionId"])

        // Between turns the token nears its end and the portal stops taking it: the server must refresh it.
        try sessions.revoke(first)
        try sessions.register(refreshToken: "refresh-\(sessions.unique)", clientID: client, roleTTL: 200)
        try sessions.writeSSOToken(
            accessToken: first, expiresIn: 300, refreshToken: "refresh-\(sessions.unique)", clientID: client)
        let two = try await Self.turn(server, id: 2, "turn two", sessionID: sessionID)
        #expect(ChatEndToEndTests.text(of: two["result"]) == "Echo: turn two", "\(two)")
        #expect(try sessions.count("oidc:\(client)") == 1)

        let three = try await Self.turn(server, id: 3, "turn three", sessionID: sessionID)
        #expect(ChatEndToEndTests.text(of: three["result"]) == "Echo: turn three", "\(three)")
        #expect(try sessions.count("oidc:\(client)") == 1)
        #expect(three["result"]?["sessionId"] == sessionID)
        let refreshed = try JSONValue.parse(try String(contentsOfFile: sessions.ssoCachePath, encoding: .utf8))
        #expect(try sessions.count("portal:\(refreshed["accessToken"]?.stringValue ?? "")") == 2)

        server.writer.request(4, "backend/check", [:])
        let check = try await server.collector.response(id: 4)
        #expect(check["result"]?["credentialSource"] == "sso:sso-dev", "\(check)")
        #expect(check["result"]?["credentialExpiration"]?.stringValue?.hasSuffix("Z") == true)
        #expect(check["result"]?["ok"] == true)

        // No token, secret or key of the session reaches the log, the answers or contenox's own files.
        server.closeInput()
        _ = try await server.waitForExit()
        let secrets = [
            first, refreshed["accessToken"]?.stringValue ?? "?", refreshed["refreshToken"]?.stringValue ?? "?",
            "secret-\(client)", "refresh-\(sessions.unique)",
        ]
        var haystacks = [server.stderr, one.jsonString, two.jsonString, three.jsonString, check.jsonString]
        for name in ["contenox.db", "contenox.db-wal", "contenox.db-shm"] {
            if let data = FileManager.default.contents(atPath: fixture.chat.home.store + "/" + name) {
                haystacks.append(String(decoding: data, as: UTF8.self))
            }
        }
        for secret in secrets {
            #expect(!haystacks.contains { $0.contains(secret) }, "\(secret) leaked")
        }
    }

    @Test func loginSessionOfThreeTurnsRefreshesEachTime() async throws {
        let fixture = try Fixture(profile: "console")
        let sessions = fixture.sessions
        let client = sessions.loginClientID
        // Keys for 250 s: under the five-minute threshold, so each turn refreshes with the token the last
        // refresh wrote (the fake takes each refresh token once).
        try sessions.expiringLogin(expiresIn: 120, ttl: 250)
        let server = try await fixture.server()
        var sessionID: JSONValue?
        for (index, prompt) in ["turn one", "turn two", "turn three"].enumerated() {
            let answer = try await Self.turn(server, id: index + 1, prompt, sessionID: sessionID)
            #expect(ChatEndToEndTests.text(of: answer["result"]) == "Echo: \(prompt)", "\(answer)")
            sessionID = answer["result"]?["sessionId"]
            // The keys are always inside the refresh window, so every resolution refreshes: the server's warm-up
            // at initialize, then each turn (the turn signs with the keys it has while a background refresh
            // runs; refreshes of one cache file are serialised, and the fake takes each refresh token once, so a
            // refresh that reused a token would fail the chain, not this count).
            let refreshes = try sessions.count("login:\(client)")
            #expect(refreshes >= index + 1 && refreshes <= index + 2, "\(refreshes) refreshes after turn \(index + 1)")
        }
    }

    enum Failure: String, CaseIterable, Sendable {
        case ssoExpired, ssoNotSignedIn, loginExpired, loginInsufficientPermissions
    }

    /// The profile, its arrangement, the error type and the command the hint must name.
    static func arrange(_ failure: Failure, _ sessions: SignInSessions) throws -> (String, String, String) {
        func expiredLogin(_ code: String) throws { try sessions.expiringLogin(expiresIn: -10, error: code) }
        switch failure {
        case .ssoExpired:
            try sessions.writeSSOToken(accessToken: "t-\(sessions.unique)", expiresIn: -60, refreshToken: nil)
            return ("sso-dev", "SSOTokenExpired", "aws sso login --profile sso-dev")
        case .ssoNotSignedIn:
            return ("sso-dev", "SSOTokenNotFound", "aws sso login --profile sso-dev")
        case .loginExpired:
            try expiredLogin("TOKEN_EXPIRED")
            return ("console", "LoginExpired", "aws login --profile console")
        case .loginInsufficientPermissions:
            try expiredLogin("INSUFFICIENT_PERMISSIONS")
            return ("console", "LoginInsufficientPermissions", "aws login --profile console")
        }
    }

    @Test(arguments: Failure.allCases)
    func failuresReachTheEditorWithTheCommand(_ failure: Failure) async throws {
        let profile = failure.rawValue.hasPrefix("sso") ? "sso-dev" : "console"
        let fixture = try Fixture(profile: profile)
        let (_, type, command) = try Self.arrange(failure, fixture.sessions)
        let server = try await fixture.server()
        let answer = try await Self.turn(server, id: 1, "hello", sessionID: nil)
        #expect(answer["error"]?["data"]?["type"]?.stringValue == type, "\(answer)")
        #expect(answer["error"]?["data"]?["hint"]?.stringValue?.contains("`\(command)`") == true, "\(answer)")
        #expect(answer["error"]?["data"]?["retryable"] == false)
        #expect(answer["error"]?["code"] == -32001, "\(answer)")
    }

    @Test(arguments: ["sso-dev", "console"])
    func contenoxChatAndBackendCheck(profile: String) throws {
        let fixture = try Fixture(profile: profile)
        let sessions = fixture.sessions
        if profile == "console" {
            // Under five minutes left: `contenox chat` refreshes the session itself.
            try sessions.expiringLogin(expiresIn: 120)
        } else {
            try sessions.grant(accessToken: "access-\(sessions.unique)")
            try sessions.writeSSOToken(accessToken: "access-\(sessions.unique)", expiresIn: 3600, refreshToken: nil)
        }
        let chat = try fixture.cli(["chat", "--ephemeral", "hello from the terminal"])
        #expect(chat.status == 0, "\(chat.stderr)")
        #expect(chat.stdout.contains("Echo: hello from the terminal"), "\(chat.stdout)")

        let check = try fixture.cli(["backend", "check"])
        #expect(check.status == 0, "\(check.stderr)")
        let source = profile == "console" ? "login:console" : "sso:sso-dev"
        #expect(check.stdout.contains("credentials: \(source)"), "\(check.stdout)")
        #expect(check.stdout.contains("expires:     "), "\(check.stdout)")
        if profile == "console" { #expect(try sessions.count("login:\(sessions.loginClientID)") == 1) }
    }

    @Test(arguments: Failure.allCases)
    func contenoxChatFailsWithTheCommand(_ failure: Failure) throws {
        let profile = failure.rawValue.hasPrefix("sso") ? "sso-dev" : "console"
        let fixture = try Fixture(profile: profile)
        let (_, _, command) = try Self.arrange(failure, fixture.sessions)
        let chat = try fixture.cli(["chat", "--ephemeral", "hello"])
        #expect(chat.status != 0)
        // The terminal gets the message and the hint (not the type).
        #expect(chat.stderr.contains("hint: ") && chat.stderr.contains("`\(command)`"), "\(chat.stderr)")
    }
}
