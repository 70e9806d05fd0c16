import Basics
import FoundationEssentials
import JSON

/// The two STS calls the chain needs, over the Query protocol (form POST, XML answer).
/// Endpoint: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else https://sts.<region>.amazonaws.com.
package struct STSClient: Sendable {
    var environment: [String: String]
    var region: String

    private var endpoint: String {
        CredentialHTTP.endpoint(
            service: "STS",
            default: "https://sts.\(region).\(region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com")",
            environment: environment)
    }

    /// Unsigned: the web identity token is the proof.
    func assumeRoleWithWebIdentity(roleARN: String, sessionName: String, token: String)
        async throws(BedrockError) -> AWSCredentials
    {
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleARN),
            ("RoleSessionName", sessionName), ("WebIdentityToken", token),
        ]
        return try await call(form: form, signWith: nil, what: "AssumeRoleWithWebIdentity for \(roleARN)")
    }

    /// Signed with `credentials` (SigV4, service sts).
    func assumeRole(roleARN: String, sessionName: String, externalID: String?, credentials: AWSCredentials)
        async throws(BedrockError) -> AWSCredentials
    {
        var form = [
            ("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", roleARN),
            ("RoleSessionName", sessionName),
        ]
        if let externalID { form.append(("ExternalId", externalID)) }
        return try await call(form: form, signWith: credentials, what: "AssumeRole for \(roleARN)")
    }

    private func call(form: [(String, String)], signWith credentials: AWSCredentials?, what: String)
        async throws(BedrockError) -> AWSCredentials
    {
        let body = Array(
            form.map { "\($0.0)=\(SigV4.percentEncodePathSegment($0.1))" }.joined(separator: "&").utf8)
        let base = endpoint
        guard let components = URLComponents(string: base), let host = components.host else {
            throw BedrockError.own("InvalidEndpoint", "Not a URL for STS: \(base)")
        }
        var authority = host
        if let port = components.port { authority += ":\(port)" }
        var headers: [(String, String)] = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
        if let credentials {
            SigV4.sign(
                method: "POST", host: authority, path: "/", query: "", headers: &headers, body: body,
                credentials: credentials, region: region, service: "sts", date: Date())
        }
        let request = HTTPRequest(
            method: "POST", url: base + "/", headers: headers, body: body, connectTimeout: 5, idleTimeout: 10,
            caBundle: environment["AWS_CA_BUNDLE"])
        let response = try await CredentialHTTP.send(request, what: "STS \(what)")
        return try Self.credentials(
            fromAnswer: response.status, body: response.body, requestID: response.requestID, what: what)
    }

    /// The credentials in an STS answer (XML), or the error it reports. Separate from the call so that it
    /// can be fuzzed.
    package static func credentials(fromAnswer status: Int, body: [UInt8], requestID: String?, what: String)
        throws(BedrockError) -> AWSCredentials
    {
        let text = String(decoding: body, as: UTF8.self)
        guard status == 200 else {
            // An empty <Code/> must not give an error without a type.
            let jsonCode = (try? JSONValue.parse(body))?["Error"]?["Code"]?.stringValue
            let code = nonEmpty(xmlValue("Code", in: text)) ?? nonEmpty(jsonCode) ?? "HTTP\(status)"
            let message = nonEmpty(xmlValue("Message", in: text)) ?? "HTTP \(status)"
            var error = BedrockError(
                type: code, message: "STS \(what): \(message)", httpStatus: status, requestID: requestID)
            if code == "AccessDenied" || code == "InvalidIdentityToken" || code == "ExpiredTokenException" {
                error.hint = "Check the role's trust policy and the credentials used to assume it"
            }
            throw error
        }
        guard let accessKey = nonEmpty(xmlValue("AccessKeyId", in: text)),
            let secret = nonEmpty(xmlValue("SecretAccessKey", in: text))
        else {
            throw BedrockError.own("InvalidResponse", "STS \(what): the answer holds no credentials")
        }
        return AWSCredentials(
            accessKeyID: accessKey, secretAccessKey: secret, sessionToken: nonEmpty(xmlValue("SessionToken", in: text)),
            expiration: xmlValue("Expiration", in: text).flatMap(parseAWSDate))
    }
}

/// The text of the first <tag>...</tag>, XML entities decoded. STS answers are small and flat enough that
/// this is all the XML we need.
package func xmlValue(_ tag: String, in text: String) -> String? {
    guard let open = text.firstRange(of: "<\(tag)>"),
        let close = text[open.upperBound...].firstRange(of: "</\(tag)>")
    else { return nil }
    return text[open.upperBound..<close.lowerBound]
        .replacing("&lt;", with: "<").replacing("&gt;", with: ">")
        .replacing("&quot;", with: "\"").replacing("&apos;", with: "'")
        .replacing("&amp;", with: "&")
        .trimmingWhitespaceAndNewlines()
}
