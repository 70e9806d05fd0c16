import Foundation
import JSON
import JSONRPC
import RPCServer
import TestSupport
import Testing

func makeServices(environment: [String: String] = [:]) throws -> (Services, TemporaryHome) {
    let home = try TemporaryHome()
    return (Services(store: try Store(path: home.path + "/contenox.db"), environment: environment), home)
}

struct AddCase: Sendable, CustomStringConvertible {
    var name = "b"
    var type = "bedrock"
    var url: String
    var apiKeyEnv: String? = nil
    var region: String? = nil
    /// The stored region on success, or nil when none is resolved.
    var expectedRegion: String? = nil
    /// The error type expected, or nil for success.
    var errorType: String? = nil
    var description: String { "\(name) \(type) \(url) \(apiKeyEnv ?? "-") \(region ?? "-")" }
}

@Suite struct ServiceTests {
    static let addCases: [AddCase] = [
        AddCase(url: "https://bedrock-runtime.us-east-1.amazonaws.com", expectedRegion: "us-east-1"),
        AddCase(url: "https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com", expectedRegion: "us-gov-west-1"),
        AddCase(url: "https://bedrock-runtime.cn-north-1.amazonaws.com.cn", expectedRegion: "cn-north-1"),
        AddCase(
            url: "https://vpce-0abc123-xyz.bedrock-runtime.eu-west-1.vpce.amazonaws.com", expectedRegion: "eu-west-1"),
        AddCase(url: "us-east-1", expectedRegion: "us-east-1"),
        AddCase(url: "eu-central-1", apiKeyEnv: "AWS_BEDROCK_CREDS", expectedRegion: "eu-central-1"),
        AddCase(url: "http://127.0.0.1:8080", region: "us-west-2", expectedRegion: "us-west-2"),
        AddCase(url: "http://127.0.0.1:8080", expectedRegion: nil),
        AddCase(name: "a.b_c-9", url: "us-east-1", expectedRegion: "us-east-1"),
        AddCase(name: String(repeating: "n", count: 64), url: "us-east-1", expectedRegion: "us-east-1"),
        AddCase(name: String(repeating: "n", count: 65), url: "us-east-1", errorType: "InvalidBackendName"),
        AddCase(name: "", url: "us-east-1", errorType: "InvalidBackendName"),
        AddCase(name: "has space", url: "us-east-1", errorType: "InvalidBackendName"),
        AddCase(name: "slash/name", url: "us-east-1", errorType: "InvalidBackendName"),
        AddCase(type: "openai", url: "us-east-1", errorType: "UnsupportedBackendType"),
        AddCase(url: "ftp://bedrock-runtime.us-east-1.amazonaws.com", errorType: "InvalidURL"),
        AddCase(url: "not a url", errorType: "InvalidURL"),
        AddCase(url: "", errorType: "InvalidURL"),
        AddCase(url: "http://127.0.0.1:8080", region: "nowhere", errorType: "InvalidRegion"),
        AddCase(url: "us-east-1", apiKeyEnv: "{\"AccessKeyID\":\"x\"}", errorType: "InvalidApiKeyEnv"),
        AddCase(url: "us-east-1", apiKeyEnv: "1VAR", errorType: "InvalidApiKeyEnv"),
        AddCase(url: "us-east-1", apiKeyEnv: "MY-VAR", errorType: "InvalidApiKeyEnv"),
    ]

    @Test(arguments: addCases)
    func addValidates(_ c: AddCase) throws {
        let (services, home) = try makeServices()
        defer { home.remove() }
        let result = Result { () throws(ServiceError) in
            try services.addBackend(
                name: c.name, type: c.type, url: c.url, apiKeyEnv: c.apiKeyEnv, region: c.region, replace: false)
        }
        switch result {
        case .success(let record):
            #expect(c.errorType == nil, "expected \(c.errorType ?? "")")
            #expect(record.region == c.expectedRegion)
            #expect(record.apiKeyEnv == c.apiKeyEnv)
            #expect(try services.backend(named: c.name) == record)
        case .failure(let error):
            #expect(error.type == c.errorType, "\(error.message)")
            #expect(error.kind == .invalidParams)
            #expect(ResponseError(error).code == .invalidParams)
            #expect(try services.backends().isEmpty)
        }
    }

    @Test func unsupportedTypeListsTheSupportedOnes() throws {
        let (services, home) = try makeServices()
        defer { home.remove() }
        #expect {
            try services.addBackend(
                name: "x", type: "ollama", url: "us-east-1", apiKeyEnv: nil, region: nil, replace: false)
        } throws: { error in
            (error as? ServiceError)?.message.contains("bedrock") == true
        }
    }

    @Test func duplicateNeedsReplace() throws {
        let (services, home) = try makeServices()
        defer { home.remove() }
        _ = try services.addBackend(
            name: "b", type: "bedrock", url: "us-east-1", apiKeyEnv: nil, region: nil, replace: false)
        do {
            _ = try services.addBackend(
                name: "b", type: "bedrock", url: "eu-west-1", apiKeyEnv: nil, region: nil, replace: false)
            Issue.record("a duplicate was accepted")
        } catch {
            #expect(error.kind == .conflict)
            #expect(error.hint.contains("replace"))
            #expect(ResponseError(error).code == ErrorCode(-32003))
        }
        #expect(try services.backend(named: "b").region == "us-east-1")
        _ = try services.addBackend(
            name: "b", type: "bedrock", url: "eu-west-1", apiKeyEnv: nil, region: nil, replace: true)
        #expect(try services.backend(named: "b").region == "eu-west-1")
        #expect(try services.backends().count == 1)
    }

    @Test func notFoundCarriesProtocolData() throws {
        let (services, home) = try makeServices()
        defer { home.remove() }
        do {
            try services.removeBackend(named: "ghost")
            Issue.record("removing a missing backend succeeded")
        } catch {
            let response = ResponseError(error)
            #expect(response.code == ErrorCode(-32003))
            #expect(response.data?["type"] == "BackendNotFound")
            #expect(response.data?["retryable"] == false)
            #expect(response.data?["hint"]?.stringValue?.isEmpty == false)
            #expect(response.data?["message"]?.stringValue?.contains("ghost") == true)
        }
    }

    @Test func configKeysAndValidation() throws {
        let (services, home) = try makeServices()
        defer { home.remove() }
        try services.setConfig("default-model", "anthropic.claude-3-5-sonnet-20241022-v2:0")
        #expect(try services.config("default-model") == "anthropic.claude-3-5-sonnet-20241022-v2:0")
        // default-provider must name an existing backend.
        #expect(throws: ServiceError.self) { try services.setConfig("default-provider", "bedrock") }
        _ = try services.addBackend(
            name: "bedrock", type: "bedrock", url: "us-east-1", apiKeyEnv: nil, region: nil, replace: false)
        try services.setConfig("default-provider", "bedrock")
        #expect(try services.config().map(\.key).sorted() == ["default-model", "default-provider"])
        // An empty value clears the key.
        try services.setConfig("default-model", "")
        #expect(try services.config("default-model") == nil)
        do {
            try services.setConfig("colour", "blue")
            Issue.record("unknown key accepted")
        } catch {
            #expect(error.message.contains("default-model") && error.message.contains("default-provider"))
            #expect(ResponseError(error).code == .invalidParams)
        }
        #expect(throws: ServiceError.self) { _ = try services.config("colour") }
    }
}
