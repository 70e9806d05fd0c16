import Basics
internal import CCrypto
import FoundationEssentials
import Glibc
import JSON
import Locking

/// The AWS CLI's own cache files (~/.aws/sso/cache/*.json, ~/.aws/login/cache/*.json): read as JSON and
/// written back the way botocore's JSONFileCache writes them, so that the CLI and contenox can share them.
enum AWSCLICacheFile {
    /// The file's JSON object, or nil when it is missing or not a JSON object.
    static func read(_ path: String) -> JSONObject? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else { return nil }
        return (try? JSONValue.parse([UInt8](data)))?.objectValue
    }

    /// Replaces the file as botocore's JSONFileCache does: the directory made if missing, the text written
    /// to a temporary file (mode 0600, from mkstemp) in the same directory, synced, then renamed over the
    /// old file, so a reader sees the old file or the new one and never half of one.
    static func write(_ object: JSONObject, to path: String) throws(BedrockError) {
        let directory = deletingLastPathComponent(path)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw failure(path, "cannot create its directory")
        }
        var template = Array((directory + "/tmpXXXXXXXX.tmp").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 4) }
        guard fd >= 0 else { throw failure(path, "cannot create a temporary file (errno \(errno))") }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let written = FileDescriptorIO.writeAll(fd, pythonJSON(.object(object))) && fsync(fd) == 0
        close(fd)
        guard written, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw failure(path, "cannot write it (errno \(errno))")
        }
    }

    private static func failure(_ path: String, _ detail: String) -> BedrockError {
        BedrockError.own(
            "CredentialsInvalid", "Cannot update the AWS CLI cache file \(path): \(detail)",
            hint: "Check that the directory is writable by this user")
    }

    /// `json.dumps(obj)` with Python's default separators (", " and ": "), keys in their order, as the
    /// AWS CLI writes these files.
    static func pythonJSON(_ value: JSONValue) -> String {
        switch value {
        case .object(let object):
            return "{"
                + object.map { JSONValue.string($0.key).jsonString + ": " + pythonJSON($0.value) }
                .joined(separator: ", ") + "}"
        case .array(let items):
            return "[" + items.map(pythonJSON).joined(separator: ", ") + "]"
        default:
            return value.jsonString
        }
    }

    /// A time in a cache file: ISO 8601 ("2026-12-05T22:40:00Z", with an offset or fractions), or the
    /// "2026-12-05T22:40:00UTC" that older AWS CLIs wrote (`strftime('%Y-%m-%dT%H:%M:%S%Z')`), which
    /// botocore's dateutil reads too.
    static func date(_ text: String?) -> Date? {
        guard var text = text?.trimmingWhitespace() else { return nil }
        if text.hasSuffix("UTC") { text = text.dropLast(3) + "Z" }
        return parseAWSDate(text)
    }

    /// The `expiresAt` for an answer's `expiresIn` seconds from `now`, the count held to 0...1 year so that
    /// a wild answer cannot make a date the formatter chokes on.
    static func expiresAt(in seconds: Int64, from now: Date) -> String {
        timestamp(now.addingTimeInterval(Double(min(max(seconds, 0), 366 * 86400))))
    }

    /// "2026-12-05T22:40:00Z": seconds, UTC, as `strftime('%Y-%m-%dT%H:%M:%SZ')` writes it.
    static func timestamp(_ date: Date) -> String {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)).formatted(Date.ISO8601FormatStyle())
    }

    /// Lowercase hex SHA-1 of the text's UTF-8 (the SSO token cache's file name).
    static func sha1Hex(_ text: String) -> String {
        var digest = [UInt8](repeating: 0, count: 20)
        var length: UInt32 = 0
        Array(text.utf8).withUnsafeBytes { raw in
            _ = EVP_Digest(raw.baseAddress, raw.count, &digest, &length, EVP_sha1(), nil)
        }
        return SigV4.hex(digest)
    }

    /// `~` and `~/...` from `home`; `$NAME` and `${NAME}` from `environment`, as Python's os.path.expandvars
    /// and expanduser (an unknown variable is left as written).
    static func expand(_ path: String, environment: [String: String]) -> String {
        var out = ""
        var rest = Substring(path)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            rest = rest[rest.index(after: dollar)...]
            let braced = rest.first == "{"
            if braced { rest = rest.dropFirst() }
            let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            let closed = !braced || rest.dropFirst(name.count).first == "}"
            if !name.isEmpty, closed, let value = environment[String(name)] {
                out += value
                rest = rest.dropFirst(name.count + (braced ? 1 : 0))
            } else {
                out += braced ? "${" : "$"
            }
        }
        out += rest
        let home = homeDirectory(environment: environment)
        if out == "~" { return home }
        if out.hasPrefix("~/") { return home + out.dropFirst(1) }
        return out
    }
}

extension AWSCLICacheFile {
    /// The last piece of work queued for each cache file.
    private static let queues = LockedValue<[String: Task<Void, Never>]>([:])

    /// Runs `body` after every earlier `serialized` call for `path` in this process has finished. A refresh
    /// rotates the refresh token, so two backends sharing one sign-in session must not refresh at once: the
    /// second reads the file the first wrote and finds the token fresh.
    static func serialized<T: Sendable>(
        _ path: String, _ body: @escaping @Sendable () async throws(BedrockError) -> T
    ) async throws(BedrockError) -> T {
        let mine = queues.withLock { queues in
            let previous = queues[path]
            let mine = Task { () async -> Result<T, BedrockError> in
                await previous?.value
                do throws(BedrockError) {
                    return .success(try await body())
                } catch {
                    return .failure(error)
                }
            }
            queues[path] = Task { _ = await mine.value }
            return mine
        }
        return try await mine.value.get()
    }
}
