import Bedrock
import Foundation
import JSON

// The parsers of what the credential chain reads: the shared config and credentials files, the JSON of
// credential_process, of an apiKeyEnv variable and of the container and instance-metadata endpoints, and
// the XML of STS. None of them may trap, each fails with its one typed error, and a secret they read never
// shows in an error or a description.

/// `config text [NUL credentials text]`: both files parsed (invalid UTF-8 repaired) and merged as the chain does.
func awsConfigFiles(_ input: [UInt8]) {
    let split = input.firstIndex(of: 0) ?? input.count
    let config = AWSConfigFile(parsing: String(decoding: input[..<split], as: UTF8.self))
    let credentials = AWSConfigFile(
        parsing: split < input.count ? String(decoding: input[(split + 1)...], as: UTF8.self) : "")
    for file in [config, credentials] {
        // Keys beginning with "[" are left out: the only way to get one together with a "]" is as a
        // sub-setting ("[k =" then "  s = ]"), and its flat form "[k.s = ]" reads as a section header.
        let bracketed = file.sections.values.contains { $0.keys.contains { $0.hasPrefix("[") } }
        if !bracketed {
            let text = rendered(file)
            check(AWSConfigFile(parsing: text) == file, "config file round trip changed it:\n\(text)")
        }
    }
    let profiles = AWSSharedProfiles(config: config, credentials: credentials)
    for (name, settings) in credentials.sections {
        for (key, value) in settings {
            check(profiles.profiles[name]?[key] == value, "credentials-file [\(name)] \(key) lost to the config file")
        }
    }
    // The merge must not depend on the order a dictionary happens to list the sections in (it changes
    // from run to run): a copy with another capacity lists them in another order.
    let reordered = AWSSharedProfiles(config: relisted(config), credentials: relisted(credentials))
    check(reordered.profiles == profiles.profiles, "profiles depend on the order sections are listed in")
}

/// INI text that must parse back to `file`: its sections in its order, `key=value`, continuation lines
/// indented.
private func rendered(_ file: AWSConfigFile) -> String {
    var text = ""
    for name in file.order {
        text += "[\(name)]\n"
        for (key, value) in (file.sections[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
            let lines = value.split(separator: "\n", omittingEmptySubsequences: false)
            let first = lines.first.map(String.init) ?? ""
            // "k = #x" would make #x a comment, "k=#x" does not; "k=\u{301}x" would hide the "=" in a
            // combined character, "k= \u{301}x" does not. So: a space unless the value starts a comment.
            let startsComment = first.unicodeScalars.first.map { $0 == "#" || $0 == ";" } ?? false
            text += key + "=" + (startsComment ? "" : " ") + first + "\n"
            for line in lines.dropFirst() { text += "  " + line + "\n" }
        }
    }
    return text
}

/// The same sections in a dictionary of another capacity, which lists them in another order.
private func relisted(_ file: AWSConfigFile) -> AWSConfigFile {
    var sections = [String: [String: String]](minimumCapacity: file.sections.count * 8 + 16)
    for (name, settings) in file.sections.sorted(by: { $0.key > $1.key }) { sections[name] = settings }
    return AWSConfigFile(sections: sections, order: file.order)
}

/// `selector document`: the selector picks credential_process output, an apiKeyEnv blob or a container
/// (and instance-metadata) answer.
func credentialDocument(_ input: [UInt8]) {
    guard let selector = input.first else { return }
    let body = Array(input.dropFirst())
    let document = try? JSONValue.parse(body)
    let result: Result<AWSCredentials, BedrockError>
    switch selector % 3 {
    case 0:
        result = Result { () throws(BedrockError) in try CredentialProcess.credentials(fromOutput: body, profile: "p") }
        if case .success(let credentials) = result {
            check(document?["Version"]?.intValue == 1, "credential_process output without Version 1 was taken")
            check(credentials.accessKeyID == trimmed(document?["AccessKeyId"]), "access key is not AccessKeyId")
            check(
                credentials.secretAccessKey == trimmed(document?["SecretAccessKey"]), "secret is not the one given")
        }
    case 1:
        let text = String(decoding: body, as: UTF8.self)
        result = Result { () throws(BedrockError) in
            try CredentialProviders.credentials(fromAPIKeyBlob: text, variable: "V")
        }
        if case .success = result {
            check((try? JSONValue.parse(text))?.objectValue != nil, "an apiKeyEnv value that is no object was taken")
        }
    default:
        result = Result { () throws(BedrockError) in
            try CredentialProviders.temporaryCredentials(fromJSON: body, what: "container credentials")
        }
        if case .success(let credentials) = result {
            check(credentials.accessKeyID == trimmed(document?["AccessKeyId"]), "access key is not AccessKeyId")
            check(
                credentials.secretAccessKey == trimmed(document?["SecretAccessKey"]), "secret is not the one given")
        }
    }
    let secrets = secretValues(in: document ?? (try? JSONValue.parse(String(decoding: body, as: UTF8.self))))
    switch result {
    case .success(let credentials):
        checkUsable(credentials)
        let described = [
            credentials.description, credentials.debugDescription, String(describing: credentials),
            ResolvedCredentials(auth: .sigV4(credentials), source: "fuzz").description,
        ]
        for text in described { checkNoSecret(secrets, in: text, besides: credentials.accessKeyID) }
    case .failure(let error):
        check(
            error.type == "CredentialsInvalid", "a bad credential document gave \(error.type), not CredentialsInvalid")
        checkNoSecret(secrets, in: error.description, besides: "")
    }
}

/// `selector body`: an STS answer with the status the selector picks.
func stsAnswer(_ input: [UInt8]) {
    guard let selector = input.first else { return }
    let statuses = [200, 400, 403, 500, 503]
    let status = statuses[Int(selector) % statuses.count]
    do {
        let credentials = try STSClient.credentials(
            fromAnswer: status, body: Array(input.dropFirst()), requestID: "r", what: "AssumeRole")
        check(status == 200, "an HTTP \(status) STS answer gave credentials")
        checkUsable(credentials)
    } catch {
        if status == 200 {
            check(error.type == "InvalidResponse", "an STS answer without credentials gave \(error.type)")
        } else {
            check(error.httpStatus == status && !error.type.isEmpty, "an STS error lost its status or type")
        }
    }
}

/// A document's string as the parsers take it: blanks around it dropped.
private func trimmed(_ value: JSONValue?) -> String? {
    value?.stringValue?.trimmingCharacters(in: .whitespaces)
}

/// Keys a request can be signed with: none of them empty.
private func checkUsable(_ credentials: AWSCredentials) {
    check(!credentials.accessKeyID.isEmpty, "empty access key taken")
    check(!credentials.secretAccessKey.isEmpty, "empty secret taken")
    check(credentials.sessionToken?.isEmpty != true, "empty session token kept instead of none")
}

/// String values of a document's secret and token fields, long enough (20+ characters) that finding one
/// in a message cannot be chance.
private func secretValues(in document: JSONValue?) -> [String] {
    guard let object = document?.objectValue else { return [] }
    return object.compactMap { key, value -> String? in
        let name = key.lowercased()
        guard name.contains("secret") || name.contains("token"), let text = value.stringValue, text.count >= 20
        else { return nil }
        return text
    }
}

private func checkNoSecret(_ secrets: [String], in text: String, besides allowed: String) {
    for secret in secrets where text.contains(secret) && !allowed.contains(secret) {
        fatalError("a secret shows in \(text)")
    }
}
