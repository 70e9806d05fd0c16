import Testing

@testable import Bedrock

@Suite struct BedrockEndpointTests {
    struct Case: Sendable, CustomStringConvertible {
        var input: String
        var runtime: String
        var control: String
        var region: String?
        var host: String
        var description: String { input }
    }

    @Test(arguments: [
        Case(
            input: "https://bedrock-runtime.us-east-1.amazonaws.com",
            runtime: "https://bedrock-runtime.us-east-1.amazonaws.com",
            control: "https://bedrock.us-east-1.amazonaws.com", region: "us-east-1",
            host: "bedrock-runtime.us-east-1.amazonaws.com"),
        Case(
            input: "https://bedrock-runtime.eu-west-3.amazonaws.com/",
            runtime: "https://bedrock-runtime.eu-west-3.amazonaws.com",
            control: "https://bedrock.eu-west-3.amazonaws.com", region: "eu-west-3",
            host: "bedrock-runtime.eu-west-3.amazonaws.com"),
        Case(
            input: "https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com",
            runtime: "https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com",
            control: "https://bedrock-fips.us-gov-west-1.amazonaws.com", region: "us-gov-west-1",
            host: "bedrock-runtime-fips.us-gov-west-1.amazonaws.com"),
        Case(
            input: "https://bedrock-runtime.cn-north-1.amazonaws.com.cn",
            runtime: "https://bedrock-runtime.cn-north-1.amazonaws.com.cn",
            control: "https://bedrock.cn-north-1.amazonaws.com.cn", region: "cn-north-1",
            host: "bedrock-runtime.cn-north-1.amazonaws.com.cn"),
        Case(
            input: "https://vpce-0abc123-xyz.bedrock-runtime.us-east-1.vpce.amazonaws.com",
            runtime: "https://vpce-0abc123-xyz.bedrock-runtime.us-east-1.vpce.amazonaws.com",
            control: "https://bedrock.us-east-1.amazonaws.com", region: "us-east-1",
            host: "vpce-0abc123-xyz.bedrock-runtime.us-east-1.vpce.amazonaws.com"),
        Case(
            input: "http://127.0.0.1:8123", runtime: "http://127.0.0.1:8123", control: "http://127.0.0.1:8123",
            region: nil, host: "127.0.0.1:8123"),
        Case(
            input: "https://bedrock-runtime.us-west-2.amazonaws.com:443",
            runtime: "https://bedrock-runtime.us-west-2.amazonaws.com",
            control: "https://bedrock.us-west-2.amazonaws.com", region: "us-west-2",
            host: "bedrock-runtime.us-west-2.amazonaws.com"),
        Case(
            input: "us-east-1", runtime: "https://bedrock-runtime.us-east-1.amazonaws.com",
            control: "https://bedrock.us-east-1.amazonaws.com", region: "us-east-1",
            host: "bedrock-runtime.us-east-1.amazonaws.com"),
        Case(
            input: "ap-southeast-2", runtime: "https://bedrock-runtime.ap-southeast-2.amazonaws.com",
            control: "https://bedrock.ap-southeast-2.amazonaws.com", region: "ap-southeast-2",
            host: "bedrock-runtime.ap-southeast-2.amazonaws.com"),
    ])
    func parse(c: Case) throws {
        let endpoint = try BedrockEndpoint.parse(c.input)
        #expect(endpoint.runtimeURL == c.runtime)
        #expect(endpoint.controlPlaneURL == c.control)
        #expect(endpoint.region == c.region)
        #expect(endpoint.host == c.host)
    }

    @Test(arguments: [
        "", "bedrock", "ftp://x", "https://bedrock-runtime.us-east-1.amazonaws.com/model", "us_east_1",
        "http://",
    ])
    func rejects(input: String) {
        #expect(throws: BedrockError.self) { try BedrockEndpoint.parse(input) }
        do {
            _ = try BedrockEndpoint.parse(input)
        } catch {
            #expect(error.type == "InvalidEndpoint")
        }
    }

    @Test(arguments: [
        ("us-east-1", true), ("eu-central-2", true), ("us-gov-west-1", true), ("cn-north-1", true),
        ("US-EAST-1", false), ("us-east", false), ("east-1", false), ("127.0.0.1", false),
    ])
    func regions(text: String, valid: Bool) {
        #expect(BedrockEndpoint.isValidRegion(text) == valid)
    }

    @Test func endpointOverridesForBareRegion() throws {
        let env = [
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:9999/",
            "AWS_ENDPOINT_URL_BEDROCK": "http://127.0.0.1:9998",
        ]
        let endpoint = try BedrockEndpoint.resolve(backendURL: "eu-west-1", environment: env)
        #expect(endpoint.runtimeURL == "http://127.0.0.1:9999")
        #expect(endpoint.controlPlaneURL == "http://127.0.0.1:9998")
        #expect(endpoint.region == "eu-west-1")
        #expect(endpoint.host == "127.0.0.1:9999")

        let generic = try BedrockEndpoint.resolve(
            backendURL: "eu-west-1", environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:7000"])
        #expect(generic.runtimeURL == "http://127.0.0.1:7000")
        #expect(generic.controlPlaneURL == "http://127.0.0.1:7000")

        // A backend's own URL comes first; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns the overrides off.
        let own = try BedrockEndpoint.resolve(backendURL: "http://127.0.0.1:1234", environment: env)
        #expect(own.runtimeURL == "http://127.0.0.1:1234")
        var ignoring = env
        ignoring["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
        #expect(
            try BedrockEndpoint.resolve(backendURL: "eu-west-1", environment: ignoring).runtimeURL
                == "https://bedrock-runtime.eu-west-1.amazonaws.com")
    }

    @Test func regionFallbackOrder() throws {
        let local = BackendSettings(name: "l", url: "http://127.0.0.1:1")
        let noFiles = ["AWS_CONFIG_FILE": "/nonexistent/c", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/k"]
        #expect(
            try BedrockClient(
                backend: local,
                environment: noFiles.merging([
                    "AWS_REGION": "eu-west-1",
                    "AWS_DEFAULT_REGION": "us-west-2",
                ]) { $1 }
            ).region() == "eu-west-1")
        #expect(
            try BedrockClient(backend: local, environment: noFiles.merging(["AWS_DEFAULT_REGION": "us-west-2"]) { $1 })
                .region() == "us-west-2")
        var explicit = local
        explicit.region = "ap-south-1"
        #expect(try BedrockClient(backend: explicit, environment: ["AWS_REGION": "eu-west-1"]).region() == "ap-south-1")
        #expect(
            try BedrockClient(
                backend: BackendSettings(name: "r", url: "ca-central-1"), environment: ["AWS_REGION": "eu-west-1"]
            ).region()
                == "ca-central-1")

        let dir = try TempDir()
        try dir.write("config", "[profile dev]\nregion = sa-east-1\n")
        let withProfile = [
            "AWS_CONFIG_FILE": dir.path("config"), "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/k",
            "AWS_PROFILE": "dev",
        ]
        #expect(try BedrockClient(backend: local, environment: withProfile).region() == "sa-east-1")

        do {
            _ = try BedrockClient(backend: local, environment: noFiles).region()
            Issue.record("expected RegionNotSet")
        } catch {
            #expect(error.type == "RegionNotSet")
            #expect(error.hint.contains("AWS_REGION"))
        }
    }
}
