import Basics
import Bedrock
import JSON

/// What a chat sends besides the conversation: a guardrail, the latency profile, the service tier, request
/// metadata for cost attribution in invocation logs; per backend (stored as the Converse fields they become,
/// `BackendRecord.requestDefaults`) or per chat (`ChatRequest.passthrough`). Checked here.
public struct BackendRequestOptions: Sendable {
    /// `ID` or `ID:VERSION` (VERSION a number or DRAFT, the default).
    public var guardrail: String?
    public var guardrailTrace = false
    /// `standard` or `optimized`.
    public var latency: String?
    /// `priority`, `default`, `flex` or `reserved`.
    public var serviceTier: String?
    public var requestMetadata: [(key: String, value: String)] = []
    /// Where prompt-cache points go: `auto`, `off` or `1h` (stored as `cache`, which is no Converse field and
    /// is never sent).
    public var cache: String?

    public init(
        guardrail: String? = nil, guardrailTrace: Bool = false, latency: String? = nil, serviceTier: String? = nil,
        requestMetadata: [(key: String, value: String)] = [], cache: String? = nil
    ) {
        self.guardrail = guardrail
        self.guardrailTrace = guardrailTrace
        self.latency = latency
        self.serviceTier = serviceTier
        self.requestMetadata = requestMetadata
        self.cache = cache
    }

    static let latencies = ["standard", "optimized"]
    static let serviceTiers = ["priority", "default", "flex", "reserved"]

    /// The Converse fields, checked: `guardrailConfig`, `performanceConfig`, `serviceTier`, `requestMetadata`.
    public func fields() throws(ServiceError) -> JSONObject {
        var fields: JSONObject = [:]
        if let guardrail {
            let parts = guardrail.split(separator: ":", maxSplits: 1).map(String.init)
            let identifier = parts.first ?? ""
            let version = parts.count > 1 ? parts[1] : "DRAFT"
            guard !identifier.isEmpty, !identifier.contains(where: \.isWhitespace),
                version == "DRAFT" || (!version.isEmpty && version.allSatisfy(\.isASCIIDigit))
            else {
                throw Self.invalid(
                    "guardrail", guardrail,
                    "Give the guardrail's id or ARN, and optionally :VERSION (a number or DRAFT).")
            }
            var config: JSONObject = ["guardrailIdentifier": .string(identifier), "guardrailVersion": .string(version)]
            if guardrailTrace { config["trace"] = "enabled" }
            fields["guardrailConfig"] = .object(config)
        } else if guardrailTrace {
            throw Self.invalid("guardrail-trace", "true", "A trace needs a guardrail: add --guardrail ID[:VERSION].")
        }
        if let latency {
            guard Self.latencies.contains(latency) else {
                throw Self.invalid("latency", latency, "Use one of: \(Self.latencies.joined(separator: ", ")).")
            }
            fields["performanceConfig"] = ["latency": .string(latency)]
        }
        if let serviceTier {
            guard Self.serviceTiers.contains(serviceTier) else {
                throw Self.invalid(
                    "service-tier", serviceTier, "Use one of: \(Self.serviceTiers.joined(separator: ", ")).")
            }
            fields["serviceTier"] = ["type": .string(serviceTier)]
        }
        if !requestMetadata.isEmpty {
            guard requestMetadata.count <= 16,
                requestMetadata.allSatisfy({ (1...256).contains($0.key.count) && $0.value.count <= 256 })
            else {
                throw Self.invalid(
                    "metadata", requestMetadata.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                    "Give at most 16 KEY=VALUE pairs, keys of 1 to 256 characters, values of at most 256.")
            }
            fields["requestMetadata"] = .object(JSONObject(requestMetadata.map { ($0.key, .string($0.value)) }))
        }
        if let cache {
            _ = try Self.cachePolicy(cache)
            fields["cache"] = .string(cache)
        }
        return fields
    }

    /// A cache policy by name, checked.
    public static func cachePolicy(_ name: String) throws(ServiceError) -> PromptCachePlanner.Policy {
        guard let policy = PromptCachePlanner.Policy(rawValue: name) else {
            throw invalid(
                "cache", name,
                "Use one of: \(PromptCachePlanner.Policy.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        return policy
    }

    private static func invalid(_ option: String, _ value: String, _ hint: String) -> ServiceError {
        ServiceError(
            .invalidParams, type: "InvalidBackendOption", message: "invalid \(option) \(value.quoted())", hint: hint)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension BackendRecord {
    /// The backend's prompt-cache policy, when it sets one.
    public var cachePolicy: PromptCachePlanner.Policy? {
        requestDefaults["cache"]?.stringValue.flatMap(PromptCachePlanner.Policy.init(rawValue:))
    }
}
