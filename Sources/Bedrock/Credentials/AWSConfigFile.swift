import Basics
import FoundationEssentials

/// An INI file as the AWS CLI reads ~/.aws/config and ~/.aws/credentials.
///
/// Rules (botocore's): section names are case-sensitive and trimmed; keys are lowercased; `=` (or `:`, if
/// it comes first) separates key and value; lines starting with `#` or `;` are comments, and so is the rest
/// of a line after whitespace + `#`/`;`; an indented line after `key =` is a sub-setting of that key (as in
/// `s3 =\n  max_concurrent_requests = 10`), kept as `key.sub`; an indented line after a value continues it.
/// Anything unparseable is skipped rather than failing the whole file.
package struct AWSConfigFile: Sendable, Equatable {
    /// Section name (as written between the brackets, trimmed) to its settings.
    package var sections: [String: [String: String]] = [:]
    /// The section names in the order they first appear. Two sections can name one profile
    /// (`[profile dev]` and `[profile  dev]`); the later one's settings win, as in the AWS CLI, and
    /// the dictionary's own order (which changes from run to run) must not decide.
    package var order: [String] = []

    /// Sections in `order`, else in name order.
    package init(sections: [String: [String: String]] = [:], order: [String]? = nil) {
        self.sections = sections
        self.order = order ?? sections.keys.sorted()
    }

    package init(parsing text: String) {
        var current: String?
        var lastKey: String?
        var lastKeyEmpty = false
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = String(rawLine).replacing("\r", with: "")
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            let indented = line.first == " " || line.first == "\t"

            if !indented, trimmed.hasPrefix("["), let close = trimmed.lastIndex(of: "]") {
                let name = trimmed[trimmed.index(after: trimmed.startIndex)..<close].trimmingWhitespace()
                current = name
                if sections[name] == nil {
                    sections[name] = [:]
                    order.append(name)
                }
                lastKey = nil
                continue
            }
            guard let section = current else { continue }
            let content = Self.stripInlineComment(trimmed)

            if indented, let parent = lastKey {
                if lastKeyEmpty, let (key, value) = Self.split(content) {
                    sections[section]?["\(parent).\(key)"] = value
                } else if !lastKeyEmpty {
                    let previous = sections[section]?[parent] ?? ""
                    sections[section]?[parent] = previous.isEmpty ? content : previous + "\n" + content
                }
                continue
            }
            guard let (key, value) = Self.split(content) else { continue }
            sections[section]?[key] = value
            lastKey = key
            lastKeyEmpty = value.isEmpty
        }
    }

    private static func split(_ content: String) -> (String, String)? {
        let eq = content.firstIndex(of: "=")
        let colon = content.firstIndex(of: ":")
        let separator: String.Index
        switch (eq, colon) {
        case (let e?, let c?): separator = min(e, c)
        case (let e?, nil): separator = e
        case (nil, let c?): separator = c
        case (nil, nil): return nil
        }
        let key = content[..<separator].trimmingWhitespace().lowercased()
        let value = content[content.index(after: separator)...].trimmingWhitespace()
        return key.isEmpty ? nil : (key, value)
    }

    private static func stripInlineComment(_ s: String) -> String {
        var previousIsSpace = false
        for i in s.indices {
            let c = s[i]
            if previousIsSpace, c == "#" || c == ";" {
                return s[..<i].trimmingWhitespace()
            }
            previousIsSpace = c == " " || c == "\t"
        }
        return s
    }
}

/// The profiles of ~/.aws/config and ~/.aws/credentials, merged as the AWS CLI does.
package struct AWSSharedProfiles: Sendable {
    /// Profile name to settings; credentials-file values win over config-file ones.
    package var profiles: [String: [String: String]]
    /// `[sso-session NAME]` sections of the config file: NAME to settings.
    package var ssoSessions: [String: [String: String]]
    /// The credentials file's own sections (botocore reads its keys before `aws login` and
    /// `credential_process`, and the config file's after them).
    package var credentialsFileProfiles: [String: [String: String]]
    var configPath: String
    var credentialsPath: String

    /// Reads both files (missing files are empty). Paths from AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE,
    /// else ~/.aws/config and ~/.aws/credentials with ~ from HOME.
    static func load(environment: [String: String]) -> AWSSharedProfiles {
        let home = homeDirectory(environment: environment)
        let configPath = expand(nonEmpty(environment["AWS_CONFIG_FILE"]) ?? "~/.aws/config", home: home)
        let credentialsPath = expand(
            nonEmpty(environment["AWS_SHARED_CREDENTIALS_FILE"]) ?? "~/.aws/credentials", home: home)
        let config = AWSConfigFile(parsing: readText(configPath))
        let credentials = AWSConfigFile(parsing: readText(credentialsPath))
        return AWSSharedProfiles(
            config: config, credentials: credentials, configPath: configPath,
            credentialsPath: credentialsPath)
    }

    /// A file's text, "" when it cannot be read. Bytes that are not UTF-8 become U+FFFD rather than making the
    /// whole file count as empty: one stray byte in a comment must not hide every profile ("profile not
    /// found" would send the user looking in the wrong place).
    static func readText(_ path: String) -> String {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    package init(
        config: AWSConfigFile, credentials: AWSConfigFile, configPath: String = "", credentialsPath: String = ""
    ) {
        var profiles: [String: [String: String]] = [:]
        var ssoSessions: [String: [String: String]] = [:]
        for name in config.order {
            guard let settings = config.sections[name] else { continue }
            if name.hasPrefix("sso-session ") || name.hasPrefix("sso-session\t") {
                ssoSessions[name.dropFirst("sso-session".count).trimmingWhitespace(), default: [:]].merge(settings) {
                    $1
                }
                continue
            }
            // [default] and [profile default] both name "default"; [profile X] names X; other sections
            // ([services x], [sso-session x], ...) are not profiles. A plain [X] in config is ignored, as the CLI does.
            let profile: String
            if name == "default" {
                profile = "default"
            } else if name.hasPrefix("profile ") || name.hasPrefix("profile\t") {
                profile = name.dropFirst("profile".count).trimmingWhitespace()
            } else {
                continue
            }
            profiles[profile, default: [:]].merge(settings) { old, new in name == "default" ? old : new }
        }
        for (name, settings) in credentials.sections {
            profiles[name, default: [:]].merge(settings) { _, new in new }
        }
        self.profiles = profiles
        self.ssoSessions = ssoSessions
        self.credentialsFileProfiles = credentials.sections
        self.configPath = configPath
        self.credentialsPath = credentialsPath
    }

    /// AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default"; `explicit` says whether a variable named it.
    static func selectedProfile(environment: [String: String]) -> (name: String, explicit: Bool) {
        if let name = nonEmpty(environment["AWS_PROFILE"]) ?? nonEmpty(environment["AWS_DEFAULT_PROFILE"]) {
            return (name, true)
        }
        return ("default", false)
    }

    private static func expand(_ path: String, home: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst(1) }
        return path
    }
}
