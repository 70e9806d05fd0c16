import Basics
import JSON

/// Runs a profile's `credential_process` through /bin/sh -c and reads its JSON (Version 1).
package enum CredentialProcess {
    static func run(_ command: String, profile: String, environment: [String: String])
        async throws(BedrockError) -> AWSCredentials
    {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<ProcessOutput, Never>) in
            // Process waiting and pipe reads block: they get a thread of their own.
            DetachedThread.start(name: "contenox.credential-process") {
                continuation.resume(returning: runBlocking(command, environment: environment))
            }
        }
        if let launchError = result.launchError {
            throw failure(profile: profile, "could not start: \(launchError)")
        }
        guard result.status == 0 else {
            let stderr = String(decoding: result.stderr.prefix(300), as: UTF8.self).trimmingWhitespaceAndNewlines()
            throw failure(
                profile: profile, "exited with status \(result.status)" + (stderr.isEmpty ? "" : ": \(stderr)"))
        }
        return try credentials(fromOutput: result.stdout, profile: profile)
    }

    /// The credentials in what the command printed: {"Version": 1, "AccessKeyId", "SecretAccessKey",
    /// "SessionToken"?, "Expiration"?}. Separate from running it so that it can be fuzzed.
    package static func credentials(fromOutput stdout: [UInt8], profile: String) throws(BedrockError)
        -> AWSCredentials
    {
        guard let json = try? JSONValue.parse(stdout) else {
            throw failure(profile: profile, "printed something that is not JSON")
        }
        guard json["Version"]?.intValue == 1 else {
            throw failure(profile: profile, "printed JSON without \"Version\": 1")
        }
        guard let accessKey = nonEmpty(json["AccessKeyId"]?.stringValue),
            let secret = nonEmpty(json["SecretAccessKey"]?.stringValue)
        else { throw failure(profile: profile, "printed JSON without AccessKeyId/SecretAccessKey") }
        return AWSCredentials(
            accessKeyID: accessKey, secretAccessKey: secret, sessionToken: nonEmpty(json["SessionToken"]?.stringValue),
            expiration: json["Expiration"]?.stringValue.flatMap(parseAWSDate))
    }

    private static func failure(profile: String, _ detail: String) -> BedrockError {
        BedrockError.own(
            "CredentialsInvalid", "credential_process of profile '\(profile)' \(detail)",
            hint: "Run the command from the profile by hand; it must print {\"Version\": 1, \"AccessKeyId\", "
                + "\"SecretAccessKey\", ...} and exit 0")
    }

    private struct ProcessOutput: Sendable {
        var status: Int32 = -1
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var launchError: String?
    }

    private static func runBlocking(_ command: String, environment: [String: String]) -> ProcessOutput {
        do {
            let output = try ChildProcess.run("/bin/sh", arguments: ["-c", command], environment: environment)
            return ProcessOutput(status: output.status, stdout: output.stdout, stderr: output.stderr)
        } catch {
            return ProcessOutput(launchError: "\(error)")
        }
    }
}
