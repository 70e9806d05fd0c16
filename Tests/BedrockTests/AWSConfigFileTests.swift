import Foundation
import Testing

@testable import Bedrock

@Suite struct AWSConfigFileTests {
    @Test func sectionsKeysAndComments() {
        let file = AWSConfigFile(
            parsing: """
                # a comment
                ; another
                [default]
                aws_access_key_id = AKIDDEFAULT
                AWS_Secret_Access_Key=secret/with=equals
                region = us-east-1 # inline comment
                output: json

                [profile dev]
                role_arn = arn:aws:iam::123456789012:role/dev
                source_profile = default
                s3 =
                  max_concurrent_requests = 10
                  addressing_style = path
                after = value

                [ services  my-services ]
                bedrock-runtime =
                  endpoint_url = http://127.0.0.1:1
                \r
                """)
        #expect(file.sections["default"]?["aws_access_key_id"] == "AKIDDEFAULT")
        #expect(file.sections["default"]?["aws_secret_access_key"] == "secret/with=equals")
        #expect(file.sections["default"]?["region"] == "us-east-1")
        #expect(file.sections["default"]?["output"] == "json")
        #expect(file.sections["profile dev"]?["role_arn"] == "arn:aws:iam::123456789012:role/dev")
        #expect(file.sections["profile dev"]?["s3.max_concurrent_requests"] == "10")
        #expect(file.sections["profile dev"]?["s3.addressing_style"] == "path")
        #expect(file.sections["profile dev"]?["after"] == "value")
        #expect(file.sections["services  my-services"]?["bedrock-runtime.endpoint_url"] == "http://127.0.0.1:1")
    }

    /// A byte that is not UTF-8 (a Latin-1 comment, say) must not make the whole file count as empty.
    @Test func aStrayNonUTF8ByteDoesNotHideTheProfiles() throws {
        let dir = try TempDir()
        let path = dir.path("config")
        let bytes = Array("# caf".utf8) + [0xE9] + Array("\n[profile dev]\nregion = eu-west-1\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let profiles = AWSSharedProfiles.load(environment: [
            "AWS_CONFIG_FILE": path, "AWS_SHARED_CREDENTIALS_FILE": dir.path("missing"),
        ])
        #expect(profiles.profiles["dev"]?["region"] == "eu-west-1")
    }

    @Test func sectionNamesAreCaseSensitive() {
        let file = AWSConfigFile(parsing: "[Dev]\na = 1\n[dev]\na = 2\n")
        #expect(file.sections["Dev"]?["a"] == "1")
        #expect(file.sections["dev"]?["a"] == "2")
    }

    @Test func crlfAndContinuationLines() {
        let file = AWSConfigFile(parsing: "[p]\r\nkey = first\r\n  second\r\nother = x\r\n")
        #expect(file.sections["p"]?["key"] == "first\nsecond")
        #expect(file.sections["p"]?["other"] == "x")
    }

    @Test func junkIsSkipped() {
        let file = AWSConfigFile(parsing: "no section = here\n[ok]\njust words\nk = v\n[broken\n")
        #expect(file.sections["ok"]?["k"] == "v")
        #expect(file.sections.count == 1)
    }

    @Test func profileMerging() {
        let config = AWSConfigFile(
            parsing: "[default]\nregion = us-east-1\n[profile dev]\nregion = eu-west-1\n[plain]\nregion = x\n"
                + "[sso-session s]\nsso_region = us-east-1\n")
        let credentials = AWSConfigFile(
            parsing: "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = s\n[default]\nregion = override\n")
        let profiles = AWSSharedProfiles(config: config, credentials: credentials)
        #expect(profiles.profiles["dev"]?["region"] == "eu-west-1")
        #expect(profiles.profiles["dev"]?["aws_access_key_id"] == "AKIDDEV")
        #expect(profiles.profiles["default"]?["region"] == "override")
        #expect(profiles.profiles["plain"] == nil)
        #expect(profiles.profiles["sso-session s"] == nil)
        #expect(profiles.profiles["s"] == nil)
    }

    /// Found by the fuzzer: two sections naming one profile were merged in the dictionary's order, which
    /// changes from run to run. The later section in the file wins.
    @Test(arguments: [
        ("[profile a]\nk = 1\nj = 1\n[profile  a]\nk = 2\n", "a", "2"),
        ("[profile  a]\nk = 2\n[profile a]\nk = 1\nj = 1\n", "a", "1"),
        ("[profile\ta]\nk = 3\n[profile a]\nk = 1\nj = 1\n[profile  a]\nk = 2\n", "a", "2"),
        // [profile default] wins over [default] wherever it is.
        ("[profile default]\nk = 1\nj = 1\n[default]\nk = 2\n", "default", "1"),
        ("[default]\nk = 2\nj = 1\n[profile default]\nk = 1\n", "default", "1"),
    ])
    func sectionsNamingOneProfileMergeInFileOrder(text: String, profile: String, value: String) {
        let config = AWSConfigFile(parsing: text)
        for _ in 0..<20 {
            // A dictionary of another capacity lists the sections in another order; the order kept must win.
            var relisted = [String: [String: String]](minimumCapacity: Int.random(in: 2...64))
            for (name, settings) in config.sections.shuffled() { relisted[name] = settings }
            let profiles = AWSSharedProfiles(
                config: AWSConfigFile(sections: relisted, order: config.order), credentials: AWSConfigFile())
            #expect(profiles.profiles[profile] == ["k": value, "j": "1"], "\(text)")
        }
    }

    @Test(arguments: [
        ([String: String](), "default", false),
        (["AWS_PROFILE": "a", "AWS_DEFAULT_PROFILE": "b"], "a", true),
        (["AWS_DEFAULT_PROFILE": "b"], "b", true),
        (["AWS_PROFILE": ""], "default", false),
    ])
    func selectedProfile(env: [String: String], name: String, explicit: Bool) {
        let selected = AWSSharedProfiles.selectedProfile(environment: env)
        #expect(selected.name == name)
        #expect(selected.explicit == explicit)
    }
}
