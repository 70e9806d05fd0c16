import Basics
import FoundationEssentials

/// A configured backend as stored by the server: its endpoint (URL or bare region), an optional explicit
/// region, and the name of an environment variable holding a credentials JSON blob (read at use, not stored).
public struct BackendSettings: Sendable, Equatable {
    public var name: String
    public var url: String
    public var region: String?
    public var apiKeyEnv: String?

    public init(name: String, url: String, region: String? = nil, apiKeyEnv: String? = nil) {
        self.name = name
        self.url = url
        self.region = region
        self.apiKeyEnv = apiKeyEnv
    }
}

/// Where a backend's requests go.
public struct BedrockEndpoint: Sendable, Equatable {
    /// scheme://host[:port], no trailing slash: Converse and ConverseStream.
    public var runtimeURL: String
    /// scheme://host[:port]: ListFoundationModels and ListInferenceProfiles. For an AWS runtime host the
    /// matching `bedrock.` host (a VPC endpoint of the runtime cannot serve the control plane, so its public
    /// regional control plane is used); for any other host (a local stand-in) the runtime URL itself.
    public var controlPlaneURL: String
    /// The region named by the URL, or the bare region; nil when the URL names none.
    public var region: String?
    /// The runtime's authority as sent in the Host header and signed: host, plus ":port" when not default.
    public var host: String

    public init(runtimeURL: String, controlPlaneURL: String, region: String?, host: String) {
        self.runtimeURL = runtimeURL
        self.controlPlaneURL = controlPlaneURL
        self.region = region
        self.host = host
    }

    /// Parses a backend URL or bare region. Region from bedrock-runtime[-fips].<region>.amazonaws.com[.cn]
    /// (and VPC endpoints ...bedrock-runtime.<region>.vpce.amazonaws.com), or the bare region, else nil
    /// (resolved at use from the backend's region, AWS_REGION, AWS_DEFAULT_REGION, the profile).
    public static func parse(_ urlOrRegion: String) throws(BedrockError) -> BedrockEndpoint {
        let text = urlOrRegion.trimmingWhitespace()
        if isValidRegion(text) {
            let suffix = text.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
            return BedrockEndpoint(
                runtimeURL: "https://bedrock-runtime.\(text).\(suffix)",
                controlPlaneURL: "https://bedrock.\(text).\(suffix)", region: text,
                host: "bedrock-runtime.\(text).\(suffix)")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let rawHost = components.host, !rawHost.isEmpty
        else {
            throw BedrockError.own("InvalidEndpoint", "Not a Bedrock endpoint URL or region: \(urlOrRegion.quoted())")
        }
        if !(components.path.isEmpty || components.path == "/") || components.query != nil {
            throw BedrockError.own(
                "InvalidEndpoint", "The endpoint URL must not have a path or query: \(urlOrRegion.quoted())",
                hint: "Give only scheme://host[:port], e.g. https://bedrock-runtime.us-east-1.amazonaws.com")
        }
        let host = rawHost.lowercased()
        let defaultPort = scheme == "https" ? 443 : 80
        var authority = host.contains(":") ? "[\(host)]" : host
        if let port = components.port, port != defaultPort { authority += ":\(port)" }
        let runtimeURL = "\(scheme)://\(authority)"
        let region = regionFromHost(host)

        var controlPlaneURL = runtimeURL
        let labels = host.split(separator: ".").map(String.init)
        if let region, host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn") {
            let suffix = host.hasSuffix(".cn") ? "amazonaws.com.cn" : "amazonaws.com"
            let fips = labels.contains { $0 == "bedrock-runtime-fips" }
            controlPlaneURL = "https://bedrock\(fips ? "-fips" : "").\(region).\(suffix)"
        }
        return BedrockEndpoint(
            runtimeURL: runtimeURL, controlPlaneURL: controlPlaneURL, region: region, host: authority)
    }

    /// Region from bedrock-runtime[-fips].<region>.amazonaws.com[.cn] or
    /// <vpce-id>.bedrock-runtime.<region>.vpce.amazonaws.com.
    static func regionFromHost(_ host: String) -> String? {
        let labels = host.split(separator: ".").map(String.init)
        guard host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn") else { return nil }
        for (i, label) in labels.enumerated() where label == "bedrock-runtime" || label == "bedrock-runtime-fips" {
            if i + 1 < labels.count, isValidRegion(labels[i + 1]) { return labels[i + 1] }
        }
        return nil
    }

    /// "us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-3", "cn-north-1", "il-central-1".
    public static func isValidRegion(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts.count <= 4, let last = parts.last, !last.isEmpty,
            last.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return false }
        return parts.dropLast().allSatisfy { part in
            !part.isEmpty && part.count <= 12 && part.allSatisfy { $0.isASCII && $0.isLowercase && $0.isLetter }
        }
    }

    /// The endpoint a backend uses: its URL; for a bare-region backend, AWS_ENDPOINT_URL_BEDROCK_RUNTIME or
    /// AWS_ENDPOINT_URL when set (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), keeping the region, and
    /// AWS_ENDPOINT_URL_BEDROCK for the control plane.
    static func resolve(backendURL: String, environment: [String: String]) throws(BedrockError) -> BedrockEndpoint {
        var endpoint = try parse(backendURL)
        let text = backendURL.trimmingWhitespace()
        let ignore = environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() == "true"
        guard isValidRegion(text), !ignore else { return endpoint }
        let runtimeOverride =
            nonEmpty(environment["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"])
            ?? nonEmpty(environment["AWS_ENDPOINT_URL"])
        if let runtimeOverride {
            let overridden = try parse(
                runtimeOverride.hasSuffix("/") ? String(runtimeOverride.dropLast()) : runtimeOverride)
            endpoint.runtimeURL = overridden.runtimeURL
            endpoint.host = overridden.host
            endpoint.controlPlaneURL = overridden.controlPlaneURL
        }
        if let control = nonEmpty(environment["AWS_ENDPOINT_URL_BEDROCK"]) {
            endpoint.controlPlaneURL = try parse(control.hasSuffix("/") ? String(control.dropLast()) : control)
                .runtimeURL
        }
        return endpoint
    }
}

func nonEmpty(_ s: String?) -> String? {
    guard let trimmed = s?.trimmingWhitespace(), !trimmed.isEmpty else { return nil }
    return trimmed
}
