import Foundation
import JSON
import TestSupport

@testable import Bedrock

/// Shared setup for tests against the local stand-in.
enum StandInSupport {
    static let model = "anthropic.claude-3-5-haiku-20241022-v1:0"

    /// Static test keys, no files, IMDS on a closed port: only what a test adds is found.
    static func environment(_ extra: [String: String] = [:], keys: Bool = true) -> [String: String] {
        var env = CredentialChainTests.isolated()
        if keys {
            env["AWS_ACCESS_KEY_ID"] = StandIn.Identity.accessKeyID
            env["AWS_SECRET_ACCESS_KEY"] = StandIn.Identity.secretAccessKey
        }
        env.merge(extra) { $1 }
        return env
    }

    static func options(idleTimeout: Double = 30, maxAttempts: Int = 3) -> BedrockClient.Options {
        var options = BedrockClient.Options()
        options.retryBaseDelay = 0.01
        options.idleTimeout = idleTimeout
        options.maxAttempts = maxAttempts
        options.connectTimeout = 5
        return options
    }

    static func client(
        _ standIn: StandIn, environment: [String: String] = environment(), apiKeyEnv: String? = nil,
        options: BedrockClient.Options = options()
    ) -> BedrockClient {
        BedrockClient(
            backend: BackendSettings(name: "standin", url: standIn.baseURL, region: "us-east-1", apiKeyEnv: apiKeyEnv),
            environment: environment, options: options)
    }

    static func request(_ text: String, model: String = model) -> ConverseRequest {
        ConverseRequest(modelID: model, messages: [ConverseMessage(role: .user, content: [.text(text)])])
    }

    struct Collected {
        var events: [ConverseStreamEvent] = []
        var assembler = StreamAssembler()
        var error: BedrockError?
        var text: String {
            assembler.message.content.compactMap { if case .text(let s) = $0 { return s } else { return nil } }
                .joined()
        }
        var deltaCount: Int {
            events.filter { $0.contentDelta != nil }.count
        }
    }

    /// Drains a stream, keeping the events and the error (a non-BedrockError is recorded as a failure).
    static func collect(_ stream: ConverseEventStream) async -> Collected {
        var collected = Collected()
        do {
            for try await event in stream {
                collected.events.append(event)
                collected.assembler.apply(event)
            }
        } catch let error as BedrockError {
            collected.error = error
        } catch {
            collected.error = BedrockError(type: "NotABedrockError", message: "\(error)", retryable: false, hint: "")
        }
        return collected
    }

    static func uniqueKey() -> String { UUID().uuidString.prefix(8).lowercased() }
}
