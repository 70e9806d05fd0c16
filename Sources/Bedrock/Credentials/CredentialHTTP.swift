import Basics
import FoundationEssentials

/// What the credential providers that call AWS (STS, IAM Identity Center, sign-in) share: where a service's
/// endpoint is and one way to send a small request.
enum CredentialHTTP {
    /// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`, else `defaultURL` (always, with
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`); without a trailing slash. `service` is the SDK's service
    /// id upper-cased with `_` for spaces (STS, SSO, SSO_OIDC, SIGNIN).
    static func endpoint(service: String, default defaultURL: String, environment: [String: String]) -> String {
        let ignore = environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() == "true"
        var url =
            ignore
            ? defaultURL
            : nonEmpty(environment["AWS_ENDPOINT_URL_\(service)"]) ?? nonEmpty(environment["AWS_ENDPOINT_URL"])
                ?? defaultURL
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    /// Sends a small request (an answer of at most 1 MiB); a transport failure names `what`.
    static func send(_ request: HTTPRequest, what: String) async throws(BedrockError) -> HTTPResponse {
        do {
            return try await HTTPTransport.send(request, maxBodyBytes: 1 << 20)
        } catch {
            var e = error
            e.message = "\(what): \(error.message)"
            throw e
        }
    }
}
