import Foundation
import Testing

@testable import Bedrock

/// The documents the credential chain reads, parsed without running a command or calling an endpoint
/// (the same functions Fuzz/FuzzParsers fuzzes).
@Suite struct CredentialDocumentTests {
    @Test func credentialProcessOutput() throws {
        let output = #"{"Version": 1, "AccessKeyId": " AKIDPROC ", "SecretAccessKey": "s", "SessionToken": ""}"#
        let credentials = try CredentialProcess.credentials(fromOutput: Array(output.utf8), profile: "p")
        #expect(credentials == AWSCredentials(accessKeyID: "AKIDPROC", secretAccessKey: "s"))
        for bad in ["", "{}", #"{"Version": 2, "AccessKeyId": "a", "SecretAccessKey": "s"}"#, #"{"Version": 1}"#] {
            #expect(throws: BedrockError.self) {
                try CredentialProcess.credentials(fromOutput: Array(bad.utf8), profile: "p")
            }
        }
    }

    @Test func apiKeyBlobFieldNames() throws {
        let blob = #"{"access_key_id": "AKIDBLOB", "SECRETACCESSKEY": "s", "sessionToken": "t"}"#
        let credentials = try CredentialProviders.credentials(fromAPIKeyBlob: blob, variable: "V")
        #expect(credentials == AWSCredentials(accessKeyID: "AKIDBLOB", secretAccessKey: "s", sessionToken: "t"))
    }

    @Test func containerAnswerTakesTokenOrSessionToken() throws {
        for field in ["Token", "SessionToken"] {
            let body = #"{"AccessKeyId": "ASIA", "SecretAccessKey": "s", "\#(field)": "t"}"#
            let credentials = try CredentialProviders.temporaryCredentials(fromJSON: Array(body.utf8), what: "x")
            #expect(credentials.sessionToken == "t")
        }
    }

    @Test func stsAnswerWithEntities() throws {
        let xml = """
            <AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIASTS</AccessKeyId>
            <SecretAccessKey>a&amp;b&lt;c</SecretAccessKey><SessionToken>tok</SessionToken>
            <Expiration>2026-11-25T08:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>
            """
        let credentials = try STSClient.credentials(fromAnswer: 200, body: Array(xml.utf8), requestID: nil, what: "x")
        #expect(credentials.accessKeyID == "ASIASTS")
        #expect(credentials.secretAccessKey == "a&b<c")
        #expect(credentials.sessionToken == "tok")
        #expect(credentials.expiration == parseAWSDate("2026-11-25T08:00:00Z"))
    }

    /// Found by the fuzzer: an empty <Code/> gave an error with an empty type. Empty credential fields
    /// were taken as keys the same way.
    @Test(arguments: [
        (403, "<Error><Code></Code><Message> </Message></Error>", "HTTP403", "HTTP 403"),
        (400, #"{"Error": {"Code": "", "Message": "m"}}"#, "HTTP400", "HTTP 400"),
        (200, "<AccessKeyId></AccessKeyId><SecretAccessKey>s</SecretAccessKey>", "InvalidResponse", "no credentials"),
        (200, "<AccessKeyId>a</AccessKeyId><SecretAccessKey> </SecretAccessKey>", "InvalidResponse", "no credentials"),
    ])
    func emptyFieldsInAnSTSAnswer(status: Int, body: String, type: String, message: String) {
        do {
            _ = try STSClient.credentials(fromAnswer: status, body: Array(body.utf8), requestID: nil, what: "x")
            Issue.record("expected \(type)")
        } catch {
            #expect(error.type == type)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func emptySessionTokenInAnSTSAnswerIsNone() throws {
        let xml = "<AccessKeyId>a</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken></SessionToken>"
        let credentials = try STSClient.credentials(fromAnswer: 200, body: Array(xml.utf8), requestID: nil, what: "x")
        #expect(credentials.sessionToken == nil)
    }
}
