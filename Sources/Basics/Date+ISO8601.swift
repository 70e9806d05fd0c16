import FoundationEssentials

// ISO8601DateFormatter lives in Foundation proper (it needs ICU); Date.ISO8601FormatStyle does not, but it
// truncates where the formatter rounded, and parses fractions to the full Double. These two keep the
// formatter's results exactly (the tests compare them with it).

extension Date {
    /// "2025-11-25T09:15:00.123Z": UTC, milliseconds rounded to nearest, as ISO8601DateFormatter with
    /// `[.withInternetDateTime, .withFractionalSeconds]` printed it.
    public var iso8601WithMilliseconds: String {
        // The formatter's arithmetic: milliseconds since 1970 from the reference date, rounded half up.
        let milliseconds = ((timeIntervalSinceReferenceDate + Self.referenceDateSince1970) * 1000 + 0.5).rounded(.down)
        let seconds = (milliseconds / 1000).rounded(.down)
        let fraction = String(Int(milliseconds - seconds * 1000))
        let whole = Date(timeIntervalSince1970: seconds).formatted(ISO8601FormatStyle())  // "...T09:15:00Z"
        return whole.dropLast() + "." + String(repeating: "0", count: 3 - fraction.count) + fraction + "Z"
    }

    /// Parses "2026-11-25T08:00:00Z", with or without fractional seconds, with "Z" or an offset ("+01:00",
    /// "+0100"), as ISO8601DateFormatter with `.withInternetDateTime` (then also `.withFractionalSeconds`)
    /// did: leading whitespace is skipped and fractions count to the millisecond, further digits dropped.
    public init?(iso8601 text: String) {
        var text = text.drop { $0.isWhitespace }
        var fractional = false
        if let point = text.firstIndex(of: ".") {
            fractional = true
            let digits = text.index(after: point)
            let digitsEnd = text[digits...].firstIndex { !$0.isASCII || !$0.isNumber } ?? text.endIndex
            let kept = text.index(digits, offsetBy: 3, limitedBy: digitsEnd) ?? digitsEnd
            text = text[..<kept] + text[digitsEnd...]
        }
        guard let parsed = try? ISO8601FormatStyle(includingFractionalSeconds: fractional).parse(String(text))
        else { return nil }
        guard fractional else {
            self = parsed
            return
        }
        // Whole milliseconds, built as the formatter built them.
        let milliseconds = (parsed.timeIntervalSince1970 * 1000).rounded()
        self.init(timeIntervalSinceReferenceDate: milliseconds / 1000 - Self.referenceDateSince1970)
    }

    /// Seconds from 1970-01-01 to 2001-01-01 (Foundation's kCFAbsoluteTimeIntervalSince1970).
    private static let referenceDateSince1970: Double = 978_307_200
}
