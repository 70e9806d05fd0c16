import Foundation
import TestSupport
import Testing

@testable import Bedrock

/// Credential sources that need no network. Sources that call STS, container or IMDS endpoints are tested
/// against the stand-in in StandInCredentialTests.
@Suite struct CredentialChainTests {
    /// An environment that finds nothing by itself: no files, no container, IMDS on a closed port.
    static func isolated(_ extra: [String: String] = [:]) -> [String: String] {
        var env = [
            "HOME": "/nonexistent-home", "AWS_CONFIG_FILE": "/nonexistent/config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1",
        ]
        env.merge(extra) { $1 }
        return env
    }

    /// botocore's IMDS knobs; anything but a positive number leaves the default.
    @Test(arguments: [
        ([String: String](), 1.0, 1), (["AWS_METADATA_SERVICE_TIMEOUT": "2.5"], 2.5, 1),
        (["AWS_METADATA_SERVICE_NUM_ATTEMPTS": "3"], 1.0, 3), (["AWS_METADATA_SERVICE_NUM_ATTEMPTS": "99"], 1.0, 10),
        (["AWS_METADATA_SERVICE_TIMEOUT": "0", "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "0"], 1.0, 1),
        (["AWS_METADATA_SERVICE_TIMEOUT": "-1", "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "two"], 1.0, 1),
        (["AWS_METADATA_SERVICE_TIMEOUT": "inf", "AWS_METADATA_SERVICE_NUM_ATTEMPTS": " "], 1.0, 1),
    ])
    func metadataServiceSettings(environment: [String: String], timeout: Double, attempts: Int) {
        let settings = CredentialProviders.metadataServiceSettings(environment)
        #expect(settings.timeout == timeout)
        #expect(settings.attempts == attempts)
    }

    @Test func environmentKeys() async throws {
        let chain = CredentialChain(
            environment: Self.isolated([
                "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken",
            ]))
        let found = try await chain.resolve()
        #expect(found.source == "environment")
        #expect(
            found.auth
                == .sigV4(
                    AWSCredentials(
                        accessKeyID: "AKIDENV", secretAccessKey: "envsecret",
                        sessionToken: "envtoken")))
        #expect(!"\(found)".contains("envsecret"))
        #expect(!"\(found)".contains("envtoken"))
    }

    @Test func halfSetEnvironmentKeysIsAnError() async {
        let chain = CredentialChain(environment: Self.isolated(["AWS_ACCESS_KEY_ID": "AKIDENV"]))
        await #expect(throws: BedrockError.self) { try await chain.resolve() }
    }

    @Test(arguments: [
        #"{"AccessKeyID":"AKIDBLOB","SecretAccessKey":"blobsecret","SessionToken":"blobtoken"}"#,
        #"{"access_key_id":"AKIDBLOB","secret_access_key":"blobsecret","session_token":"blobtoken"}"#,
    ])
    func apiKeyEnvBlob(blob: String) async throws {
        // The blob wins over everything else in the environment.
        let chain = CredentialChain(
            apiKeyEnv: "MY_BEDROCK_KEYS",
            environment: Self.isolated([
                "MY_BEDROCK_KEYS": blob, "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "x",
                "AWS_BEARER_TOKEN_BEDROCK": "tok",
            ]))
        let found = try await chain.resolve()
        #expect(found.source == "api-key-env:MY_BEDROCK_KEYS")
        #expect(
            found.auth
                == .sigV4(
                    AWSCredentials(
                        accessKeyID: "AKIDBLOB", secretAccessKey: "blobsecret",
                        sessionToken: "blobtoken")))
    }

    @Test(arguments: [nil, "not json {", #"{"AccessKeyID":"AKIDONLY-secretvalue"}"#, "[1,2]"])
    func apiKeyEnvMissingOrMalformedDoesNotFallThrough(value: String?) async {
        var env = Self.isolated(["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "x"])
        env["MY_KEYS"] = value
        let chain = CredentialChain(apiKeyEnv: "MY_KEYS", environment: env)
        do {
            let found = try await chain.resolve()
            Issue.record("expected an error, got \(found.source)")
        } catch {
            #expect(error.message.contains("MY_KEYS"))
            #expect(!error.message.contains("secretvalue"))
            #expect(!error.hint.contains("secretvalue"))
            #expect(error.type == (value == nil ? "CredentialsNotFound" : "CredentialsInvalid"))
        }
    }

    @Test func bearerToken() async throws {
        let chain = CredentialChain(
            environment: Self.isolated([
                "AWS_BEARER_TOKEN_BEDROCK": "bedrock-api-key-secret", "AWS_ACCESS_KEY_ID": "AKIDENV",
                "AWS_SECRET_ACCESS_KEY": "x",
            ]))
        let found = try await chain.resolve()
        #expect(found.source == "bearer-token")
        #expect(found.auth == .bearer("bedrock-api-key-secret"))
        #expect(!"\(found)".contains("bedrock-api-key-secret"))
    }

    @Test func profileStaticKeys() async throws {
        let dir = try TempDir()
        try dir.write(
            "credentials",
            "[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = d\n"
                + "[work]\naws_access_key_id = AKIDWORK\naws_secret_access_key = w\naws_session_token = wt\n")
        let base = Self.isolated(["AWS_SHARED_CREDENTIALS_FILE": dir.path("credentials")])
        let defaults = try await CredentialChain(environment: base).resolve()
        #expect(defaults.source == "profile:default")
        #expect(defaults.auth == .sigV4(AWSCredentials(accessKeyID: "AKIDDEF", secretAccessKey: "d")))

        let work = try await CredentialChain(environment: base.merging(["AWS_PROFILE": "work"]) { $1 }).resolve()
        #expect(work.source == "profile:work")
        #expect(work.auth == .sigV4(AWSCredentials(accessKeyID: "AKIDWORK", secretAccessKey: "w", sessionToken: "wt")))
    }

    @Test func staticKeysInConfigFile() async throws {
        let dir = try TempDir()
        try dir.write("config", "[profile cfg]\naws_access_key_id = AKIDCFG\naws_secret_access_key = c\n")
        let env = Self.isolated(["AWS_CONFIG_FILE": dir.path("config"), "AWS_PROFILE": "cfg"])
        let found = try await CredentialChain(environment: env).resolve()
        #expect(found.source == "profile:cfg")
    }

    @Test func missingExplicitProfileIsAnError() async {
        let chain = CredentialChain(environment: Self.isolated(["AWS_PROFILE": "nope"]))
        do {
            _ = try await chain.resolve()
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("'nope'"))
        }
    }

    @Test func credentialProcess() async throws {
        let dir = try TempDir()
        let script = try dir.write(
            "creds.sh",
            """
            #!/bin/sh
            echo "ran" >> "$COUNT_FILE"
            echo 'noise on stderr' >&2
            printf '{"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "procsecret", '
            printf '"SessionToken": "proctoken", "Expiration": "2999-01-01T00:00:00Z"}'
            """, executable: true)
        try dir.write("config", "[profile proc]\ncredential_process = \(script) --flag\n")
        let env = Self.isolated([
            "AWS_CONFIG_FILE": dir.path("config"), "AWS_PROFILE": "proc", "COUNT_FILE": dir.path("count"),
        ])
        let chain = CredentialChain(environment: env)
        let found = try await chain.resolve()
        #expect(found.source == "credential-process:proc")
        guard case .sigV4(let c) = found.auth else {
            Issue.record("expected SigV4")
            return
        }
        #expect(c.accessKeyID == "ASIAPROC")
        #expect(c.sessionToken == "proctoken")
        #expect(c.expiration == ISO8601DateFormatter().date(from: "2999-01-01T00:00:00Z"))
        _ = try await chain.resolve()
        #expect(try String(contentsOfFile: dir.path("count"), encoding: .utf8) == "ran\n", "cached, not rerun")
    }

    @Test(arguments: [
        ("exit 3", "status 3"), ("echo not-json", "not JSON"), ("echo '{\"Version\": 2}'", "Version"),
        ("echo '{\"Version\": 1, \"AccessKeyId\": \"A\"}'", "SecretAccessKey"),
    ])
    func credentialProcessFailures(command: String, fragment: String) async throws {
        let dir = try TempDir()
        try dir.write("config", "[default]\ncredential_process = \(command)\n")
        let chain = CredentialChain(environment: Self.isolated(["AWS_CONFIG_FILE": dir.path("config")]))
        do {
            _ = try await chain.resolve()
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
            #expect(error.type == "CredentialsInvalid")
        }
    }

    /// Credentials expiring within the refresh margin are fetched again; concurrent callers share one fetch.
    /// (Lifetime, margin and wait are times TestScale.timeFactor, so a slow run keeps the same story.)
    @Test func expiryRefreshSharedByConcurrentCallers() async throws {
        let lifetime = Int(TestScale.seconds(3).rounded(.up))
        let dir = try TempDir()
        let script = try dir.write(
            "creds.sh",
            """
            #!/bin/sh
            echo "ran" >> "$COUNT_FILE"
            sleep 0.2
            exp=$(date -u -d "+\(lifetime) seconds" +%Y-%m-%dT%H:%M:%SZ)
            n=$(wc -l < "$COUNT_FILE" | tr -d ' ')
            printf '{"Version": 1, "AccessKeyId": "ASIA%s", "SecretAccessKey": "s", ' "$n"
            printf '"SessionToken": "t", "Expiration": "%s"}' "$exp"
            """, executable: true)
        try dir.write("config", "[default]\ncredential_process = \(script)\n")
        let env = Self.isolated(["AWS_CONFIG_FILE": dir.path("config"), "COUNT_FILE": dir.path("count")])
        // No background refresh ahead of the margin here: this is about the refresh a caller waits for.
        let chain = CredentialChain(environment: env, refreshMargin: TestScale.seconds(1.5), refreshAhead: 0)
        func runs() throws -> Int {
            try String(contentsOfFile: dir.path("count"), encoding: .utf8).split(separator: "\n").count
        }

        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    guard case .sigV4(let c) = try await chain.resolve().auth else { return "" }
                    return c.accessKeyID
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(ids == ["ASIA1"])
        #expect(try runs() == 1)

        // Still fresh (expires in ~3 s, margin 1.5 s).
        _ = try await chain.resolve()
        #expect(try runs() == 1)

        try await Task.sleep(for: .seconds(TestScale.seconds(2)))
        guard case .sigV4(let refreshed) = try await chain.resolve().auth else { return }
        #expect(refreshed.accessKeyID == "ASIA2")
        #expect(try runs() == 2)
    }

    @Test func nothingFoundListsEverySource() async {
        let chain = CredentialChain(environment: Self.isolated())
        do {
            let found = try await chain.resolve()
            Issue.record("expected CredentialsNotFound, got \(found.source)")
        } catch {
            #expect(error.type == "CredentialsNotFound")
            for source in ["bearer-token", "environment", "web-identity", "profile:default", "container", "imds"] {
                #expect(error.message.contains(source), "\(source) missing from: \(error.message)")
            }
            #expect(error.hint.contains("AWS_PROFILE"))
            #expect(error.hint.contains("--api-key-env"))
            #expect(error.hint.contains("aws sts get-caller-identity"))
        }
    }

    @Test func imdsDisabledIsNamed() async {
        let chain = CredentialChain(environment: Self.isolated(["AWS_EC2_METADATA_DISABLED": "true"]))
        do {
            _ = try await chain.resolve()
        } catch {
            #expect(error.message.contains("AWS_EC2_METADATA_DISABLED"))
        }
    }
}
