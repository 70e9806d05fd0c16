import Foundation
import TestSupport
import Testing

@testable import Basics

/// Basics stands in for Foundation API the production targets used to call; each helper is checked
/// against the Foundation call it replaces (the tests may link Foundation; the binary does not).
@Suite struct FoundationParityTests {
    static let spaces: [Unicode.Scalar] = [
        " ", "\t", "\n", "\r", "\u{0B}", "\u{0C}", "\u{85}", "\u{A0}", "\u{1680}", "\u{2003}", "\u{200B}",
        "\u{2028}", "\u{2029}", "\u{202F}", "\u{3000}", "\u{FEFF}",
    ]
    static let others: [Unicode.Scalar] = ["a", "Z", "=", "#", "é", "\u{301}", "😀", "\u{1F3FB}", "\u{0}"]

    @Test(arguments: [
        "", " ", "\r\n", " key = value \r", "\t[profile dev]\t", "a\r\n", " \u{301}a", "a \u{301}", "\u{A0}x\u{3000}",
        "\u{2028}x\u{85}", "\r\n\r\n", "x\u{200B}",
    ])
    func trimmingMatchesFoundation(text: String) {
        #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces))
        #expect(text.trimmingWhitespaceAndNewlines() == text.trimmingCharacters(in: .whitespacesAndNewlines))
        let sub = text.dropFirst(0)
        #expect(sub.trimmingWhitespace() == sub.trimmingCharacters(in: .whitespaces))
    }

    @Test func trimmingMatchesFoundationForEveryScalarOfTheBMP() {
        for value in UInt32(0)..<0x10000 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = "a" + String(scalar)
            #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces), "U+\(value)")
            #expect(
                text.trimmingWhitespaceAndNewlines() == text.trimmingCharacters(in: .whitespacesAndNewlines),
                "U+\(value)")
        }
    }

    @Test func trimmingMatchesFoundationOnRandomStrings() {
        var rng = SeededGenerator(seed: 7)
        let pool = Self.spaces + Self.others
        for _ in 0..<5000 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...8, using: &rng) { scalars.append(pool.randomElement(using: &rng)!) }
            let text = String(scalars)
            #expect(
                text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces), "\(Array(text.unicodeScalars))")
            #expect(
                text.trimmingWhitespaceAndNewlines() == text.trimmingCharacters(in: .whitespacesAndNewlines),
                "\(Array(text.unicodeScalars))")
        }
    }

    @Test func decimalTextMatchesFoundation() {
        var values: [Double] = [
            0, -0.0, 60, 5, 0.5, 0.3, 0.25, 1.25, 0.1234, 0.0005, 0.0015, 0.0025, 2.5e-4, 1234.5, 1e6, 0.9999, 999.9995,
            1.0055, 2.675, 1e15, 1e16, 1e20, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -1.5, -0.0001, .nan,
            .infinity,
            -.infinity,
        ]
        var rng = SeededGenerator(seed: 11)
        for _ in 0..<3000 {
            values.append(Double.random(in: 0..<600, using: &rng))
            values.append(Double(Int.random(in: -100_000...100_000, using: &rng)) / 2000)
            values.append(Double(bitPattern: rng.next()))
        }
        for digits in [0, 1, 3] {
            for value in values {
                let foundation = value.formatted(.number.precision(.fractionLength(0...digits)))
                #expect(value.decimalText(maxFractionDigits: digits) == foundation, "\(value), \(digits) digits")
            }
        }
    }

    @Test func millisecondTimestampsMatchISO8601DateFormatter() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var rng = SeededGenerator(seed: 3)
        var times: [Double] = [0, 0.0005, 0.001, 0.0015, -0.0005, 1_764_000_000.9995, 4_102_444_799.999_9]
        for _ in 0..<5000 {
            times.append(Double.random(in: -2e9..<4e9, using: &rng))
            times.append((Double(Int.random(in: 0..<4_000_000_000_000, using: &rng)) + 0.5) / 1000)
        }
        times.append(Date().timeIntervalSince1970)
        for time in times {
            let date = Date(timeIntervalSince1970: time)
            #expect(date.iso8601WithMilliseconds == formatter.string(from: date), "\(time)")
        }
    }

    /// What `parseAWSDate` accepted through ISO8601DateFormatter: `.withInternetDateTime`, then with
    /// `.withFractionalSeconds` as well.
    static func formatterParse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    @Test(arguments: [
        "2026-11-25T08:00:00Z", "2026-11-25T08:00:00.5Z", "2026-11-25T08:00:00.123Z", "2026-11-25T08:00:00.123456789Z",
        "2026-11-25T08:00:00.999999Z", "2026-11-25T08:00:00+01:00", "2026-11-25T08:00:00+0100",
        "2026-11-25T08:00:00.25-05:30", "2026-11-25T08:00:00-00:00", " 2026-11-25T08:00:00Z", "\t2026-11-25T08:00:00Z",
        "2026-11-25T08:00:00Z ", "2026-11-25T24:00:00Z", "2026-11-25 08:00:00Z", "2026-11-25T08:00:00",
        "2026-11-25", "20261125T080000Z", "2026-11-25T08:00Z", "2026-11-25T08:00:00.Z", "2026-11-25T08:00:00,5Z",
        "2026-13-25T08:00:00Z", "", "garbage",
    ])
    func iso8601ParsingMatchesISO8601DateFormatter(text: String) {
        #expect(Date(iso8601: text) == Self.formatterParse(text))
    }

    @Test func iso8601ParsingMatchesOnGeneratedTimestamps() {
        var rng = SeededGenerator(seed: 5)
        let zones = ["Z", "+01:00", "+0100", "-05:30", "+14:00", "-00:00", "-12:00"]
        func pad(_ n: Int, _ width: Int) -> String {
            String(repeating: "0", count: max(0, width - String(n).count)) + String(n)
        }
        for index in 0..<3000 {
            let date = [
                pad(Int.random(in: 1900...2200, using: &rng), 4), pad(Int.random(in: 1...12, using: &rng), 2),
                pad(Int.random(in: 1...28, using: &rng), 2),
            ].joined(separator: "-")
            let time = [
                pad(Int.random(in: 0...23, using: &rng), 2), pad(Int.random(in: 0...59, using: &rng), 2),
                pad(Int.random(in: 0...59, using: &rng), 2),
            ].joined(separator: ":")
            let digits = index % 3 == 0 ? 0 : Int.random(in: 1...9, using: &rng)
            let fraction =
                digits == 0 ? "" : "." + (0..<digits).map { _ in String(Int.random(in: 0...9, using: &rng)) }.joined()
            let text = "\(date)T\(time)\(fraction)\(zones.randomElement(using: &rng)!)"
            #expect(Date(iso8601: text) == Self.formatterParse(text), "\(text)")
        }
    }

    @Test(arguments: ["/a/b/c.db", "/a/b/", "/a//b", "/c.db", "/", "c.db", "a/b", "a/b//", "//a", ""])
    func deletingLastPathComponentMatchesNSString(path: String) {
        #expect(Basics.deletingLastPathComponent(path) == (path as NSString).deletingLastPathComponent)
    }

    @Test func homeDirectoryPrefersHOME() {
        #expect(homeDirectory(environment: ["HOME": "/somewhere"]) == "/somewhere")
        #expect(homeDirectory(environment: [:]) == NSHomeDirectoryForUser(nil))
    }
}
