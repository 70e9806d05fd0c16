import Foundation
import JSON
import TestSupport
import Testing

@Suite struct CLITests {
    @Test func seedCommandsRunExactlyAsWritten() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let env = ["AWS_REGION": "", "AWS_DEFAULT_REGION": ""]
        let first = try runContenox(
            [
                "backend", "add", "bedrock", "--type", "bedrock", "--url",
                "https://bedrock-runtime.us-east-1.amazonaws.com",
            ],
            home: home.store, environment: env)
        #expect(first.status == 0, "\(first.stderr)")
        let duplicate = try runContenox(
            [
                "backend", "add", "bedrock", "--type", "bedrock", "--url", "us-east-1", "--api-key-env",
                "AWS_BEDROCK_CREDS",
            ],
            home: home.store, environment: env)
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr.hasPrefix("error: "))
        #expect(duplicate.stderr.contains("--replace"))
        #expect(duplicate.stderr.contains("another name"))
        let model = try runContenox(
            ["config", "set", "default-model", "anthropic.claude-3-5-sonnet-20241022-v2:0"], home: home.store)
        #expect(model.status == 0, "\(model.stderr)")
        let provider = try runContenox(["config", "set", "default-provider", "bedrock"], home: home.store)
        #expect(provider.status == 0, "\(provider.stderr)")

        let get = try runContenox(["config", "get", "default-model"], home: home.store)
        #expect(
            get.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "anthropic.claude-3-5-sonnet-20241022-v2:0")
        let all = try runContenox(["config", "get", "--json"], home: home.store)
        let config = try JSONValue.parse(all.stdout)
        #expect(config["default-provider"] == "bedrock")

        let replaced = try runContenox(
            ["backend", "add", "local", "--type", "bedrock", "--url", "http://127.0.0.1:9"], home: home.store,
            environment: env)
        #expect(replaced.status == 0, "\(replaced.stderr)")
        let list = try runContenox(["backend", "list"], home: home.store, environment: env)
        #expect(list.status == 0)
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.contains("REGION") == true)
        #expect(lines.contains { $0.hasPrefix("bedrock") && $0.contains("us-east-1") })
        #expect(lines.contains { $0.hasPrefix("local") && $0.contains("AWS_REGION at use") })
        let json = try JSONValue.parse(try runContenox(["backend", "list", "--json"], home: home.store).stdout)
        #expect(json.arrayValue?.first { $0["name"] == "bedrock" }?["region"] == "us-east-1")
    }

    @Test func replaceOverwrites() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        #expect(
            try runContenox(["backend", "add", "b", "--type", "bedrock", "--url", "us-east-1"], home: home.store).status
                == 0)
        let replaced = try runContenox(
            ["backend", "add", "b", "--type", "bedrock", "--url", "eu-west-1", "--replace"], home: home.store)
        #expect(replaced.status == 0)
        let shown = try JSONValue.parse(try runContenox(["backend", "show", "b", "--json"], home: home.store).stdout)
        #expect(shown["region"] == "eu-west-1")
        #expect(try runContenox(["backend", "remove", "b"], home: home.store).status == 0)
        let gone = try runContenox(["backend", "show", "b"], home: home.store)
        #expect(gone.status == 1)
        #expect(gone.stderr.hasPrefix("error: "))
    }

    static let exitCases: [([String], Int32)] = [
        (["backend", "add", "b", "--url", "us-east-1"], 2),  // missing --type
        (["backend", "frobnicate"], 2),
        (["serve", "--framing", "xml"], 2),
        (["serve", "--log-level", "loud"], 2),
        (["backend", "add", "b", "--type", "openai", "--url", "us-east-1"], 1),
        (["backend", "add", "bad name", "--type", "bedrock", "--url", "us-east-1"], 1),
        (["backend", "add", "b", "--type", "bedrock", "--url", "ftp://x"], 1),
        (["config", "set", "colour", "blue"], 1),
        (["config", "set", "default-provider", "nobody"], 1),
        (["version"], 0),
    ]

    @Test(arguments: exitCases)
    func exitCodes(arguments: [String], expected: Int32) throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let result = try runContenox(arguments, home: home.store)
        #expect(result.status == expected, "\(arguments): \(result.stderr)")
        if expected == 1 {
            #expect(result.stderr.hasPrefix("error: "))
            #expect(result.stdout.isEmpty)
        }
    }

    @Test func errorMessagesSayWhatToDo() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let type = try runContenox(["backend", "add", "b", "--type", "openai", "--url", "us-east-1"], home: home.store)
        #expect(type.stderr.contains("bedrock"))
        let key = try runContenox(["config", "set", "colour", "blue"], home: home.store)
        #expect(key.stderr.contains("default-model") && key.stderr.contains("default-provider"))
        let version = try runContenox(["version"], home: home.store)
        #expect(version.stdout.hasPrefix("contenox "))
    }

    @Test func secretsAreNeverStored() throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        let secret = "wJalrXUtnFEMI-K7MDENG-SECRETSENTINEL"
        let blob = #"{"AccessKeyID":"AKIASENTINEL0000","SecretAccessKey":"\#(secret)","SessionToken":"TOKENSENTINEL"}"#
        let added = try runContenox(
            [
                "backend", "add", "bedrock", "--type", "bedrock", "--url", "us-east-1", "--api-key-env",
                "AWS_BEDROCK_CREDS",
            ],
            home: home.store, environment: ["AWS_BEDROCK_CREDS": blob])
        #expect(added.status == 0, "\(added.stderr)")
        let list = try runContenox(["backend", "list"], home: home.store, environment: ["AWS_BEDROCK_CREDS": blob])
        #expect(list.stdout.contains("AWS_BEDROCK_CREDS"))
        var stored = Data()
        for suffix in ["", "-wal", "-shm"] {
            if let data = FileManager.default.contents(atPath: home.store + "/contenox.db" + suffix) { stored += data }
        }
        #expect(!stored.isEmpty)
        let text = String(decoding: stored, as: UTF8.self)
        #expect(text.contains("AWS_BEDROCK_CREDS"))
        for sentinel in [secret, "AKIASENTINEL0000", "TOKENSENTINEL"] {
            #expect(!text.contains(sentinel))
            #expect(!added.stdout.contains(sentinel) && !added.stderr.contains(sentinel))
            #expect(!list.stdout.contains(sentinel))
        }
    }

    @Test func twoProcessesWritingAtOnce() async throws {
        let home = try TemporaryHome()
        defer { home.remove() }
        // Create the database first so both loops race on writes, not on who creates the schema.
        #expect(try runContenox(["config", "get"], home: home.store).status == 0)
        let perLoop = 8
        let statuses = await withTaskGroup(of: [Int32].self) { group in
            for loop in 0..<2 {
                group.addTask {
                    (0..<perLoop).map { n in
                        (try? runContenox(
                            ["backend", "add", "p\(loop)-\(n)", "--type", "bedrock", "--url", "us-east-1"],
                            home: home.store
                        ).status) ?? -1
                    }
                }
            }
            var all: [Int32] = []
            for await statuses in group { all += statuses }
            return all
        }
        #expect(statuses == Array(repeating: 0, count: 2 * perLoop))
        let list = try runContenox(["backend", "list", "--json"], home: home.store)
        #expect(list.status == 0, "\(list.stderr)")
        let json = try JSONValue.parse(list.stdout)
        #expect(json.arrayValue?.count == 2 * perLoop)
    }
}
