import Foundation
import TestSupport
import Testing

@testable import Bedrock

/// Credentials close to expiry are refreshed in the background: the caller gets the cached ones at once, and the
/// next caller the new ones, without waiting for the provider.
@Suite struct CredentialRefreshAheadTests {
    /// A credential_process that counts its runs and answers ASIA<run>, valid for an hour.
    static func chain(in dir: TempDir, refreshAhead: Double) throws -> CredentialChain {
        let script = try dir.write(
            "creds.sh",
            """
            #!/bin/sh
            echo "ran" >> "$COUNT_FILE"
            exp=$(date -u -d "+3600 seconds" +%Y-%m-%dT%H:%M:%SZ)
            n=$(wc -l < "$COUNT_FILE" | tr -d ' ')
            printf '{"Version": 1, "AccessKeyId": "ASIA%s", "SecretAccessKey": "s", ' "$n"
            printf '"SessionToken": "t", "Expiration": "%s"}' "$exp"
            """, executable: true)
        try dir.write("config", "[default]\ncredential_process = \(script)\n")
        let env = CredentialChainTests.isolated([
            "AWS_CONFIG_FILE": dir.path("config"), "COUNT_FILE": dir.path("count"),
        ])
        return CredentialChain(environment: env, refreshMargin: 60, refreshAhead: refreshAhead)
    }

    static func accessKey(_ chain: CredentialChain) async throws -> String {
        guard case .sigV4(let credentials) = try await chain.resolve().auth else { return "" }
        return credentials.accessKeyID
    }

    static func runs(_ dir: TempDir) -> Int {
        ((try? String(contentsOfFile: dir.path("count"), encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    @Test func withinTheWindowTheCachedAnswerComesAtOnceAndARefreshRunsBehindIt() async throws {
        let dir = try TempDir()
        // An hour of validity, a refresh wanted from 2 hours before the margin: always within the window.
        let chain = try Self.chain(in: dir, refreshAhead: 7200)
        #expect(try await Self.accessKey(chain) == "ASIA1")
        #expect(try await Self.accessKey(chain) == "ASIA1", "the cached credentials, not a wait for new ones")
        let deadline = ContinuousClock.now + .seconds(TestScale.seconds(20))
        while Self.runs(dir) < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(Self.runs(dir) >= 2, "the background refresh ran")
        // Once it is stored, callers get the refreshed credentials.
        var key = try await Self.accessKey(chain)
        while key == "ASIA1", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            key = try await Self.accessKey(chain)
        }
        #expect(key != "ASIA1")
    }

    @Test func outsideTheWindowNothingRunsInTheBackground() async throws {
        let dir = try TempDir()
        let chain = try Self.chain(in: dir, refreshAhead: 60)
        for _ in 0..<3 { #expect(try await Self.accessKey(chain) == "ASIA1") }
        // Time for a refresh that should not have started to show in the count (the first one took less).
        try await Task.sleep(for: .milliseconds(300))
        #expect(Self.runs(dir) == 1)
    }
}
