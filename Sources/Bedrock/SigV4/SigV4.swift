internal import CCrypto
import FoundationEssentials

/// AWS Signature Version 4, as botocore computes it for rest-json services such as Bedrock.
public enum SigV4 {
    /// Headers that are never signed: they are added or changed by the transport.
    /// (botocore's list, plus content-length, which curl sets after signing.)
    private static let unsignedHeaders: Set<String> = [
        "authorization", "user-agent", "expect", "content-length", "transfer-encoding", "x-amzn-trace-id",
    ]

    /// Signs a request in place: adds `x-amz-date`, `x-amz-security-token` (for session credentials) and
    /// `authorization`, replacing any earlier values of them.
    ///
    /// - Parameters:
    ///   - path: the request path exactly as sent on the wire, already percent-encoded
    ///     (`/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse`). The canonical URI encodes
    ///     each segment once more, as AWS does for every service but S3.
    ///   - query: the raw query string without `?`.
    public static func sign(
        method: String, host: String, path: String, query: String, headers: inout [(String, String)],
        body: [UInt8], credentials: AWSCredentials, region: String, service: String, date: Date
    ) {
        let amzDate = amzDateString(date)
        let day = String(amzDate.prefix(8))
        let replaced: Set<String> = ["x-amz-date", "x-amz-security-token", "authorization"]
        headers.removeAll { replaced.contains($0.0.lowercased()) }
        headers.append(("X-Amz-Date", amzDate))
        if let token = credentials.sessionToken { headers.append(("X-Amz-Security-Token", token)) }

        let (canonicalHeaders, signedHeaders) = canonicalize(headers: headers, host: host)
        let canonicalRequest = [
            method.uppercased(), canonicalURI(path), canonicalQuery(query), canonicalHeaders, signedHeaders,
            sha256Hex(body),
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(Array(canonicalRequest.utf8))]
            .joined(separator: "\n")

        var key = hmacSHA256(key: Array("AWS4\(credentials.secretAccessKey)".utf8), data: Array(day.utf8))
        for part in [region, service, "aws4_request"] { key = hmacSHA256(key: key, data: Array(part.utf8)) }
        let signature = hex(hmacSHA256(key: key, data: Array(stringToSign.utf8)))
        headers.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
                    + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
            ))
    }

    /// The canonical request of `sign`, exposed for tests and for explaining signature mismatches.
    static func canonicalize(headers: [(String, String)], host: String) -> (canonical: String, signed: String) {
        var byName: [String: [String]] = [:]
        var hasHost = false
        for (name, value) in headers {
            let lower = name.lowercased()
            guard !unsignedHeaders.contains(lower) else { continue }
            if lower == "host" { hasHost = true }
            byName[lower, default: []].append(collapseSpaces(value))
        }
        if !hasHost { byName["host"] = [host] }
        let names = byName.keys.sorted()
        let canonical = names.map { "\($0):\(byName[$0]!.joined(separator: ","))\n" }.joined()
        return (canonical, names.joined(separator: ";"))
    }

    /// Each segment of the on-wire path percent-encoded once more (`%3A` becomes `%253A`).
    static func canonicalURI(_ path: String) -> String {
        guard !path.isEmpty else { return "/" }
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { percentEncodePathSegment(String($0)) }
            .joined(separator: "/")
    }

    /// The query's `name=value` pairs sorted, taken as sent: like botocore, the caller is trusted to
    /// have encoded them (every query this client builds goes through `percentEncodePathSegment`).
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&").map { item -> (String, String) in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// RFC 3986 encoding that keeps only unreserved characters: `:` becomes `%3A`, `/` becomes `%2F`.
    public static func percentEncodePathSegment(_ s: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(s.utf8.count)
        let digits = Array("0123456789ABCDEF".utf8)
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func collapseSpaces(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC, with gmtime_r rather than a DateFormatter.
    static func amzDateString(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return pad(parts.tm_year + 1900, 4) + pad(parts.tm_mon + 1, 2) + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + pad(parts.tm_min, 2) + pad(parts.tm_sec, 2) + "Z"
    }

    public static func sha256Hex(_ bytes: some Collection<UInt8>) -> String {
        hex(sha256(Array(bytes)))
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        bytes.withUnsafeBytes { raw in
            _ = EVP_Digest(raw.baseAddress, raw.count, &digest, &length, EVP_sha256(), nil)
        }
        return digest
    }

    public static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        key.withUnsafeBytes { keyRaw in
            data.withUnsafeBytes { dataRaw in
                _ = HMAC(
                    EVP_sha256(), keyRaw.baseAddress, Int32(keyRaw.count),
                    dataRaw.baseAddress?.assumingMemoryBound(to: UInt8.self), dataRaw.count, &digest, &length)
            }
        }
        return digest
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes { out += [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]] }
        return String(decoding: out, as: UTF8.self)
    }
}
