extension StringProtocol {
    /// The string without leading and trailing spaces and tabs: Foundation's
    /// `trimmingCharacters(in: .whitespaces)` (Unicode category Zs, U+0009, and U+200B, which Foundation
    /// still counts as a space), scalar by scalar. Line breaks stay, which the AWS config file parser relies on.
    public func trimmingWhitespace() -> String {
        trimming(isSpace)
    }

    /// The string without leading and trailing whitespace and line breaks: Foundation's
    /// `trimmingCharacters(in: .whitespacesAndNewlines)` (the above plus U+000A–U+000D, U+0085, U+2028, U+2029).
    public func trimmingWhitespaceAndNewlines() -> String {
        trimming { scalar in
            switch scalar.value {
            case 0x09...0x0D, 0x85, 0x2028, 0x2029: return true
            default: return isSpace(scalar)
            }
        }
    }

    /// Works on Unicode scalars, not Characters, as Foundation does: a trailing "\r\n" or a space followed
    /// by a combining mark is judged scalar by scalar.
    private func trimming(_ isTrimmed: (Unicode.Scalar) -> Bool) -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !isTrimmed($0) }) else { return "" }
        let end = scalars.index(after: scalars.lastIndex(where: { !isTrimmed($0) })!)
        return String(decoding: utf8[first..<end], as: UTF8.self)
    }
}

private func isSpace(_ scalar: Unicode.Scalar) -> Bool {
    scalar == "\t" || scalar == "\u{200B}" || scalar.properties.generalCategory == .spaceSeparator
}
