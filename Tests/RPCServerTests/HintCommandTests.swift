import ContenoxCLI
import Foundation
import Testing

/// Every `contenox ...` command that a hint, an error or a help text names must be one the CLI accepts:
/// each is taken from the sources (written in backticks, as hints write commands) and parsed.
@Suite struct HintCommandTests {
    static let sourcesRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    /// (file, command) for every backticked `contenox ...` outside comments in Sources/.
    static func quotedCommands() throws -> [(String, String)] {
        var found: [(String, String)] = []
        let files = FileManager.default.enumerator(atPath: sourcesRoot.path)!.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }
        let pattern = try NSRegularExpression(pattern: "`contenox ([^`]*)`")
        for file in files {
            let text = try String(contentsOf: sourcesRoot.appendingPathComponent(file), encoding: .utf8)
            // Strings a person reads (hints, messages, help), not doc comments.
            for line in text.split(separator: "\n").map(String.init)
            where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                for match in pattern.matches(in: line, range: NSRange(line.startIndex..., in: line)) {
                    found.append((file, String(line[Range(match.range(at: 1), in: line)!])))
                }
            }
        }
        return found
    }

    @Test func everyQuotedCommandParses() throws {
        let commands = try Self.quotedCommands()
        #expect(commands.count >= 10, "found only \(commands)")
        for (file, command) in commands {
            // An interpolated part stands for one word.
            let words = command.replacingOccurrences(of: #"\\\([^)]*\)"#, with: "x", options: .regularExpression)
                .split(separator: " ").map(String.init)
            do {
                _ = try Contenox.parseAsRoot(words)
            } catch {
                Issue.record("\(file): `contenox \(command)` does not parse: \(Contenox.fullMessage(for: error))")
            }
        }
    }

    /// A hint that names a command without backticks would escape the check above.
    @Test func hintsWriteCommandsInBackticks() throws {
        let pattern = try NSRegularExpression(
            pattern: #"[^`]contenox (backend|config|model|models|chat|session|serve|version)\b"#)
        let files = FileManager.default.enumerator(atPath: Self.sourcesRoot.path)!.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }
        for file in files {
            let text = try String(contentsOf: Self.sourcesRoot.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n")
            where line.contains("\"") && !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                let line = String(line)
                if pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil {
                    Issue.record("\(file): a command outside backticks: \(line)")
                }
            }
        }
    }
}
