/// Finds the spans of values in JSON text without building them: the elements of a top-level array (so
/// that a batch is decoded one request at a time) and a top-level object's member (so that a request id
/// is echoed as the exact text the client sent).
///
/// It skips strings (with their escapes) and nested values by counting brackets; it checks structure only
/// where it walks (commas, colons, brackets). A value's own text is checked by whoever parses the span.
/// Every function answers nil for text it cannot walk.
public enum JSONScanner {
    /// The spans of the elements of `bytes` when it is a JSON array (surrounding whitespace excluded); nil
    /// when it is not an array or its structure is broken.
    public static func arrayElements(_ bytes: UnsafeRawBufferPointer) -> [Range<Int>]? {
        var index = skipSpace(bytes, 0)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return nil }
        index = skipSpace(bytes, index + 1)
        var spans: [Range<Int>] = []
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            return skipSpace(bytes, index + 1) == bytes.count ? spans : nil
        }
        while true {
            guard let end = valueEnd(bytes, index) else { return nil }
            spans.append(index..<end)
            index = skipSpace(bytes, end)
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "]") { break }
            guard bytes[index] == UInt8(ascii: ",") else { return nil }
            index = skipSpace(bytes, index + 1)
        }
        return skipSpace(bytes, index + 1) == bytes.count ? spans : nil
    }

    /// The span of the value of the member named `key` of the top-level object in `bytes` (the last one, as
    /// a parser that keeps the last of duplicate keys sees it); nil when there is none, or the text is not
    /// an object. Keys written with escapes are not matched.
    public static func memberValue(_ bytes: UnsafeRawBufferPointer, key: String) -> Range<Int>? {
        let wanted = Array(key.utf8)
        var index = skipSpace(bytes, 0)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        index = skipSpace(bytes, index + 1)
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { return nil }
        var found: Range<Int>?
        while true {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let keyEnd = stringEnd(bytes, index) else {
                return nil
            }
            let matches =
                keyEnd - index - 2 == wanted.count
                && wanted.indices.allSatisfy { bytes[index + 1 + $0] == wanted[$0] }
            index = skipSpace(bytes, keyEnd)
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index = skipSpace(bytes, index + 1)
            guard let end = valueEnd(bytes, index) else { return nil }
            if matches { found = index..<end }
            index = skipSpace(bytes, end)
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "}") { return found }
            guard bytes[index] == UInt8(ascii: ",") else { return nil }
            index = skipSpace(bytes, index + 1)
        }
    }

    private static func skipSpace(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> Int {
        var index = start
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
            default: return index
            }
        }
        return index
    }

    /// The index just past the string that starts (with its quote) at `start`.
    private static func stringEnd(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> Int? {
        var index = start + 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index += 2
            case UInt8(ascii: "\""): return index + 1
            default: index += 1
            }
        }
        return nil
    }

    /// The index just past the value that starts at `start`.
    private static func valueEnd(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return stringEnd(bytes, start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var index = start
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    guard let end = stringEnd(bytes, index) else { return nil }
                    index = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return index + 1 }
                default:
                    break
                }
                index += 1
            }
            return nil
        case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: ":"):
            return nil
        default:
            // A number or a literal: up to the next delimiter.
            var index = start
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: " "), UInt8(ascii: "\t"),
                    UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                    return index
                default:
                    index += 1
                }
            }
            return index
        }
    }
}
