import Basics
import FoundationEssentials
import JSON

/// The outcome of `BedrockClient.check()`: `backend/check`'s result without the backend.
public struct BackendCheck: Sendable, Equatable {
    public struct Problem: Sendable, Equatable {
        public var type: String
        public var message: String
        public var hint: String

        public init(_ error: BedrockError) {
            type = error.type
            message = error.message
            hint = error.hint
        }

        public var json: JSONValue { ["type": .string(type), "message": .string(message), "hint": .string(hint)] }
    }

    public var region: String?
    public var credentialSource: String?
    /// When the credentials found stop working (temporary ones: SSO, `aws login`, STS, ...); nil for keys
    /// that do not expire or when none were found.
    public var credentialExpiration: Date?
    public var ok: Bool
    public var problems: [Problem]

    /// `{region, credentialSource, credentialExpiration, ok, problems}` (region, credentialSource and
    /// credentialExpiration null when unknown; the expiration as ISO 8601 in UTC).
    public var json: JSONValue {
        [
            "region": region.map(JSONValue.string) ?? .null,
            "credentialSource": credentialSource.map(JSONValue.string) ?? .null,
            "credentialExpiration": credentialExpiration.map { .string($0.iso8601WithMilliseconds) } ?? .null,
            "ok": .bool(ok), "problems": .array(problems.map(\.json)),
        ]
    }
}

extension BedrockClient {
    /// The models this backend can chat with. Without `live`, the curated catalog (ids adjusted to the
    /// region's inference profiles). With `live`, ListFoundationModels + ListInferenceProfiles on the control
    /// plane, cached for the client's lifetime.
    public func listModels(live: Bool) async throws(BedrockError) -> [ModelInfo] {
        guard live else {
            return ModelCatalog.models(forRegion: (try? region()) ?? nonEmpty(backend.region))
        }
        if let cached = modelCache.withLock({ $0 }) { return cached }
        let endpoint = try endpoint()
        let region = try region()
        let controlHost = authority(of: endpoint.controlPlaneURL)
        let foundation = try await send(
            method: "GET", baseURL: endpoint.controlPlaneURL, host: controlHost, path: "/foundation-models",
            query: "byOutputModality=TEXT", body: [], region: region, modelID: nil)
        guard let summaries = (try? JSONValue.parse(foundation.body))?["modelSummaries"]?.arrayValue else {
            throw BedrockError.own("InvalidResponse", "ListFoundationModels answered without modelSummaries")
        }

        let profileIDs = try await inferenceProfiles(type: "SYSTEM_DEFINED", endpoint: endpoint, region: region)
            .compactMap { $0["inferenceProfileId"]?.stringValue }
        // The account's own application inference profiles (cost tracking per team or app): models too, by ARN.
        let applicationProfiles = try await inferenceProfiles(
            type: "APPLICATION", endpoint: endpoint, region: region
        ).compactMap { profile -> ModelInfo? in
            guard let arn = profile["inferenceProfileArn"]?.stringValue else { return nil }
            return ModelInfo(
                id: arn, name: profile["inferenceProfileName"]?.stringValue ?? arn, provider: "Application profile",
                requiresInferenceProfile: false)
        }
        let models = Self.liveModels(summaries: summaries, profileIDs: profileIDs, region: region) + applicationProfiles
        modelCache.withLock { $0 = models }
        return models
    }

    /// Every page of ListInferenceProfiles for one type (SYSTEM_DEFINED or APPLICATION).
    private func inferenceProfiles(
        type: String, endpoint: BedrockEndpoint, region: String
    ) async throws(BedrockError) -> [JSONValue] {
        var profiles: [JSONValue] = []
        var nextToken: String?
        repeat {
            var query = "maxResults=1000"
            if let token = nextToken { query += "&nextToken=\(SigV4.percentEncodePathSegment(token))" }
            query += "&typeEquals=\(type)"
            let page = try await send(
                method: "GET", baseURL: endpoint.controlPlaneURL, host: authority(of: endpoint.controlPlaneURL),
                path: "/inference-profiles", query: query, body: [], region: region, modelID: nil)
            let json = try? JSONValue.parse(page.body)
            profiles += json?["inferenceProfileSummaries"]?.arrayValue ?? []
            nextToken = nonEmpty(json?["nextToken"]?.stringValue)
        } while nextToken != nil
        return profiles
    }

    /// Maps ListFoundationModels summaries to ModelInfo: text models that run on demand keep their id; those
    /// that run only through a profile get the profile id for the region (us./eu./apac.), preferring one the
    /// account lists; provisioned-only variants are left out.
    static func liveModels(summaries: [JSONValue], profileIDs: [String], region: String) -> [ModelInfo] {
        let prefix = InferenceProfilePrefix.forRegion(region)
        var models: [ModelInfo] = []
        for summary in summaries {
            guard let id = summary["modelId"]?.stringValue else { continue }
            let outputs = summary["outputModalities"]?.arrayValue?.compactMap(\.stringValue) ?? ["TEXT"]
            guard outputs.contains("TEXT") else { continue }
            let types = summary["inferenceTypesSupported"]?.arrayValue?.compactMap(\.stringValue) ?? ["ON_DEMAND"]
            let onDemand = types.contains("ON_DEMAND")
            guard onDemand || types.contains("INFERENCE_PROFILE") else { continue }
            var modelID = id
            if !onDemand {
                let candidates = profileIDs.filter { $0.hasSuffix("." + id) }
                modelID =
                    candidates.first { $0 == "\(prefix).\(id)" } ?? candidates.first { $0 == "global.\(id)" }
                    ?? candidates.first ?? "\(prefix).\(id)"
            }
            models.append(
                ModelInfo(
                    id: modelID, name: summary["modelName"]?.stringValue ?? id,
                    provider: summary["providerName"]?.stringValue ?? "",
                    streaming: summary["responseStreamingSupported"]?.boolValue ?? true,
                    requiresInferenceProfile: !onDemand))
        }
        return models
    }

    /// Checks the backend end to end: endpoint, region, credentials (and their source), then one cheap signed
    /// call, ListFoundationModels?byOutputModality=TEXT on the control plane. It costs nothing and proves the
    /// keys, signature and region. When the control plane cannot be reached (a runtime-only VPC endpoint,
    /// say) it falls back to a Converse with maxTokens 1 on amazon.nova-micro (a fraction of a cent), which
    /// proves the same through the runtime.
    public func check() async -> BackendCheck {
        var result = BackendCheck(region: nil, credentialSource: nil, ok: false, problems: [])
        let endpoint: BedrockEndpoint
        do {
            endpoint = try self.endpoint()
            result.region = try region()
        } catch {
            result.problems.append(.init(error))
            return result
        }
        do {
            let credentials = try await resolveCredentials()
            result.credentialSource = credentials.source
            result.credentialExpiration = credentials.expiration
        } catch {
            result.problems.append(.init(error))
            return result
        }
        do {
            _ = try await send(
                method: "GET", baseURL: endpoint.controlPlaneURL, host: authority(of: endpoint.controlPlaneURL),
                path: "/foundation-models", query: "byOutputModality=TEXT", body: [], region: result.region ?? "",
                modelID: nil)
            result.ok = true
        } catch  where error.kind == .connectionFailed || error.kind == .timeout {
            do {
                let probe = ConverseRequest(
                    modelID: "amazon.nova-micro-v1:0", messages: [.init(role: .user, content: [.text("hi")])],
                    inferenceConfig: ["maxTokens": 1])
                _ = try await converse(probe)
                result.ok = true
            } catch {
                result.problems.append(.init(error))
            }
        } catch {
            result.problems.append(.init(error))
        }
        return result
    }

    func authority(of url: String) -> String {
        guard let range = url.firstRange(of: "://") else { return url }
        return String(url[range.upperBound...])
    }
}
