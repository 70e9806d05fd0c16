import Foundation
import JSON
import TestSupport
import Testing

@testable import Bedrock

@Suite struct SigV4Tests {
    static let knownDate = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z
    static let keys = AWSCredentials(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    static func signKnownRequest(token: String?) -> String {
        var credentials = keys
        credentials.sessionToken = token
        var headers = [("Content-Type", "application/json")]
        SigV4.sign(
            method: "POST", host: "bedrock-runtime.us-east-1.amazonaws.com",
            path: "/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", query: "",
            headers: &headers, body: Array(#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#.utf8),
            credentials: credentials, region: "us-east-1", service: "bedrock", date: knownDate)
        return headers.first { $0.0 == "Authorization" }!.1
    }

    @Test func knownAnswerFromTheNotes() {
        let authorization = Self.signKnownRequest(token: nil)
        #expect(
            authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request"))
        #expect(authorization.contains("SignedHeaders=content-type;host;x-amz-date,"))
        #expect(authorization.hasSuffix("Signature=3531478cac4a0c35a0e95ba57d3e77dcce31941e18201720c134079ab474eee0"))
    }

    @Test func knownAnswerWithSessionToken() {
        let authorization = Self.signKnownRequest(token: "SESSIONTOKEN")
        #expect(authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"))
        #expect(authorization.hasSuffix("Signature=c2afec8359b1efd2b93c06013f5dfd0679801497d7237d949066ac320de26058"))
    }

    @Test(arguments: [
        (
            "/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
            "/model/us.anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse"
        ),
        (
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.x/converse-stream",
            "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253Ainference-profile%252Fus.x/converse-stream"
        ),
        ("/foundation-models", "/foundation-models"), ("", "/"),
    ])
    func canonicalURIEncodesEachSegmentAgain(path: String, expected: String) {
        #expect(SigV4.canonicalURI(path) == expected)
    }

    @Test func pathSegmentEncoding() {
        #expect(
            SigV4.percentEncodePathSegment("us.anthropic.claude-3-5-sonnet-20240620-v1:0")
                == "us.anthropic.claude-3-5-sonnet-20240620-v1%3A0")
        #expect(
            SigV4.percentEncodePathSegment("arn:aws:bedrock:us-east-1:1:inference-profile/us.x")
                == "arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x")
        #expect(SigV4.percentEncodePathSegment("a b~é") == "a%20b~%C3%A9")
    }

    @Test func canonicalQueryIsSortedAndEncoded() {
        #expect(
            SigV4.canonicalQuery("byProvider=Anthropic&byInferenceType=ON_DEMAND&a=")
                == "a=&byInferenceType=ON_DEMAND&byProvider=Anthropic")
        #expect(SigV4.canonicalQuery("nextToken=a%2Fb%3D%3D") == "nextToken=a%2Fb%3D%3D")
    }

    @Test func signingReplacesEarlierAuthorization() {
        var headers = [("Content-Type", "application/json")]
        for _ in 0..<2 {
            SigV4.sign(
                method: "POST", host: "h", path: "/p", query: "", headers: &headers, body: [],
                credentials: Self.keys, region: "us-east-1", service: "bedrock", date: Self.knownDate)
        }
        #expect(headers.filter { $0.0.lowercased() == "authorization" }.count == 1)
        #expect(headers.filter { $0.0.lowercased() == "x-amz-date" }.count == 1)
    }

    @Test func hashesMatchKnownValues() {
        #expect(SigV4.sha256Hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            SigV4.hex(
                SigV4.hmacSHA256(
                    key: Array("key".utf8), data: Array("The quick brown fox jumps over the lazy dog".utf8)))
                == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    }

    @Test func credentialsNeverPrintSecrets() {
        let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "SECRET-xyz", sessionToken: "TOKEN-abc")
        for text in [
            credentials.description, credentials.debugDescription, String(reflecting: credentials),
            "\(credentials)", String(describing: Mirror(reflecting: credentials).children.map { $0.value }),
        ] {
            #expect(!text.contains("SECRET-xyz"))
            #expect(!text.contains("TOKEN-abc"))
        }
    }

    /// botocore signs the same requests; every signature must agree. Ids with ':', '/', spaces and
    /// non-ASCII, query strings and session tokens are covered by a seeded generator.
    @Test func agreesWithBotocoreOnGeneratedRequests() throws {
        var rng = SeededGenerator(seed: 0xC0FFEE)
        let pieces = [
            "anthropic.claude-3-5-sonnet-20241022-v2:0", "us.meta.llama3-3-70b-instruct-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
            "model with space", "modèle-é", "a+b=c", "~tilde_", "x%y",
        ]
        var specs: [JSONValue] = []
        var ours: [String] = []
        for index in 0..<60 {
            let model = pieces[Int(rng.next() % UInt64(pieces.count))]
            let operation = ["converse", "converse-stream"][index % 2]
            let path = "/model/\(SigV4.percentEncodePathSegment(model))/\(operation)"
            let query = index % 3 == 0 ? "maxResults=\(index)&byProvider=Meta%20AI&nextToken=ab%2Fc%3D" : ""
            let token: String? = index % 2 == 0 ? "token-\(index)/+=" : nil
            let body = #"{"messages":[{"role":"user","content":[{"text":"hi \#(index) é"}]}]}"#
            let seconds = 1_700_000_000 + Double(rng.next() % 100_000_000)
            let date = Date(timeIntervalSince1970: seconds)
            let region = ["us-east-1", "eu-central-1", "ap-southeast-2"][index % 3]
            let host = "bedrock-runtime.\(region).amazonaws.com"
            var headers = [("Content-Type", "application/json"), ("X-Custom", "  a   b  ")]
            let credentials = AWSCredentials(
                accessKeyID: "AKID\(index)", secretAccessKey: "secret/\(index)+key", sessionToken: token)
            SigV4.sign(
                method: "POST", host: host, path: path, query: query, headers: &headers, body: Array(body.utf8),
                credentials: credentials, region: region, service: "bedrock", date: date)
            ours.append(headers.first { $0.0 == "Authorization" }!.1)
            var spec: JSONObject = [
                "method": "POST", "host": .string(host), "path": .string(path), "query": .string(query),
                "headers": [["Content-Type", "application/json"], ["X-Custom", "  a   b  "]],
                "body": .string(body), "accessKeyID": .string(credentials.accessKeyID),
                "secretAccessKey": .string(credentials.secretAccessKey), "region": .string(region),
                "service": "bedrock", "amzDate": .string(SigV4.amzDateString(date)),
            ]
            if let token { spec["sessionToken"] = .string(token) }
            specs.append(.object(spec))
        }
        let script = fixturesDirectory().appendingPathComponent("sigv4/botocore_sign.py").path
        let output = try runPython(script, input: JSONValue.array(specs).serialized())
        let theirs = try JSONValue.parse(output).arrayValue?.compactMap(\.stringValue) ?? []
        #expect(theirs.count == ours.count)
        for (index, (mine, botocore)) in zip(ours, theirs).enumerated() {
            #expect(mine == botocore, "request \(index): \(specs[index].jsonString)")
        }
    }
}
