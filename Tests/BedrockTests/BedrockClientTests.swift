import Foundation
import Testing

@testable import Bedrock

/// Client behaviour that needs no stand-in.
@Suite struct BedrockClientTests {
    static func client(url: String, environment: [String: String] = StandInSupport.environment()) -> BedrockClient {
        BedrockClient(
            backend: BackendSettings(name: "t", url: url, region: "us-east-1"), environment: environment,
            options: StandInSupport.options())
    }

    @Test func refusedEndpointIsConnectionFailedAfterRetries() async {
        let client = Self.client(url: "http://127.0.0.1:1")
        do {
            _ = try await client.converse(StandInSupport.request("hi"))
            Issue.record("expected ConnectionFailed")
        } catch {
            #expect(error.type == "ConnectionFailed")
            #expect(error.message.contains("127.0.0.1:1"))
            #expect(error.hint.contains("proxy"))
        }
        let streamed = await StandInSupport.collect(client.converseStream(StandInSupport.request("hi")))
        #expect(streamed.events.isEmpty)
        #expect(streamed.error?.type == "ConnectionFailed")
    }

    @Test func invalidBackendURLSurfacesOnUse() async {
        let client = Self.client(url: "not a url")
        await #expect(throws: BedrockError.self) { try await client.converse(StandInSupport.request("hi")) }
        let check = await client.check()
        #expect(!check.ok)
        #expect(check.problems.map(\.type) == ["InvalidEndpoint"])
    }

    @Test func missingCredentialsFailBeforeAnyRequest() async {
        let client = Self.client(url: "http://127.0.0.1:1", environment: StandInSupport.environment(keys: false))
        do {
            _ = try await client.converse(StandInSupport.request("hi"))
            Issue.record("expected CredentialsNotFound")
        } catch {
            #expect(error.type == "CredentialsNotFound")
        }
    }

    @Test func catalogWithoutNetwork() async throws {
        let client = BedrockClient(
            backend: BackendSettings(name: "t", url: "eu-central-1"), environment: StandInSupport.environment(),
            options: StandInSupport.options())
        let models = try await client.listModels(live: false)
        #expect(models.contains { $0.id == "eu.anthropic.claude-3-7-sonnet-20250219-v1:0" })
    }

    @Test func signedRequestCarriesEncodedPathAndNoHostDuplicate() throws {
        let client = Self.client(url: "http://127.0.0.1:9")
        let credentials = ResolvedCredentials(
            auth: .sigV4(AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s", sessionToken: "tok")),
            source: "environment")
        let path = "/model/\(SigV4.percentEncodePathSegment("us.anthropic.x-v1:0"))/converse"
        let request = client.signedRequest(
            method: "POST", baseURL: "http://127.0.0.1:9", host: "127.0.0.1:9", path: path, query: "", body: [],
            credentials: credentials, region: "us-east-1")
        #expect(request.url == "http://127.0.0.1:9/model/us.anthropic.x-v1%3A0/converse")
        let names = request.headers.map { $0.0.lowercased() }
        #expect(names.contains("authorization"))
        #expect(names.contains("x-amz-security-token"))
        #expect(!names.contains("host"))

        let bearer = client.signedRequest(
            method: "POST", baseURL: "http://127.0.0.1:9", host: "127.0.0.1:9", path: path, query: "", body: [],
            credentials: ResolvedCredentials(auth: .bearer("k"), source: "bearer-token"), region: "us-east-1")
        #expect(bearer.headers.contains { $0.0 == "Authorization" && $0.1 == "Bearer k" })
        #expect(!bearer.headers.contains { $0.0.lowercased().hasPrefix("x-amz-") })
    }
}
