import Bedrock
import Foundation
import JSON

// What the IAM Identity Center portal and the sign-in service answer. Neither parser may trap; what they
// take must be keys a request can be signed with; the login cache entry they build must keep every field
// `aws login` wrote besides the two they replace.

/// `selector answer`: the selector picks a GetRoleCredentials answer or a sign-in CreateOAuth2Token answer.
func signInAnswer(_ input: [UInt8]) {
    guard let selector = input.first else { return }
    let body = Array(input.dropFirst())
    if selector % 2 == 0 {
        do {
            let keys = try SSOProvider.roleCredentials(fromAnswer: body, what: "GetRoleCredentials")
            check(!keys.accessKeyID.isEmpty && !keys.secretAccessKey.isEmpty, "portal answer gave empty keys")
        } catch {
            check(error.type == "InvalidResponse", "a bad portal answer gave \(error.type)")
        }
        return
    }
    let cached: JSONObject = [
        "accessToken": ["accessKeyId": "A", "secretAccessKey": "S", "accountId": "123456789012"],
        "tokenType": "aws_sigv4", "clientId": "c", "refreshToken": "r", "idToken": "i", "dpopKey": "k",
    ]
    guard let updated = LoginProvider.refreshedEntry(cached, answer: body, now: Date()) else { return }
    check(updated.keys == cached.keys, "a refresh changed which fields the login cache holds, or their order")
    for kept in ["tokenType", "clientId", "idToken", "dpopKey"] {
        check(updated[kept] == cached[kept], "a refresh changed \(kept)")
    }
    let access = updated["accessToken"]
    check(access?["accountId"] == "123456789012", "a refresh lost the account id")
    check(access?["accessKeyId"]?.stringValue?.isEmpty == false, "a refresh took an empty access key")
    check(access?["expiresAt"]?.stringValue.flatMap(parseAWSDate) != nil, "expiresAt does not read back")
}
