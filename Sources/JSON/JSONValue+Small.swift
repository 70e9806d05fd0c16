extension JSONValue {
    /// Parses a small, simple document without jansson, or returns nil to say "ask `parse`".
    ///
    /// Why: a streamed answer arrives as one tiny JSON payload per token
    /// (`{"contentBlockIndex":0,"delta":{"text":" the"},"p":"abc"}`), and building jansson's tree
    /// for each costs about 1 µs, which caps a stream near a million tokens a second on one core.
    /// This reads only what such payloads hold: objects and arrays at most `maxDepth` deep,
    /// strings (every escape, UTF-8 checked), integers that fit in Int64, true, false and null.
    /// Anything else (a fraction or exponent, a duplicate key, `\u0000`, invalid or suspicious
    /// input of any kind) returns nil, and the caller parses with jansson, which then decides. So
    /// whenever this returns a value it is the value `parse` returns, which the JSON tests check
    /// on generated and mutated documents.
    public static func parseSmall(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 4) -> JSONValue? {
        var reader = SmallReader(bytes: bytes, maxDepth: maxDepth)
        guard let value = reader.value(depth: 0) else { return nil }
        reader.skipWhitespace()
        guard reader.index == bytes.count else { return Optional.none }
        return value
    }

    public static func parseSmall(_ bytes: [UInt8], maxDepth: Int = 4) -> JSONValue? {
        bytes.withUnsafeBytes { parseSmall($0, maxDepth: maxDepth) }
    }

    /// Like `parseSmall` for a document that must be an object, keeping only the top-level members named in
    /// `keeping`: the others are checked as strictly but not built (Bedrock pads every event with a random
    /// `"p"` string that nobody reads). The result equals jansson's object with the other members removed.
    public static func parseSmallObject(
        _ bytes: UnsafeRawBufferPointer, keeping: [StaticString], maxDepth: Int = 4
    ) -> JSONObject? {
        var reader = SmallReader(bytes: bytes, maxDepth: maxDepth)
        reader.keeping = keeping
        reader.skipWhitespace()
        guard reader.index < bytes.count, bytes[reader.index] == UInt8(ascii: "{"),
            case .object(let object)? = reader.value(depth: 0)
        else { return nil }
        reader.skipWhitespace()
        return reader.index == bytes.count ? object : nil
    }
}

/// A cursor over the bytes for `parseSmall`; every method returns nil at the first thing it does not
/// handle, leaving the verdict to jansson. (JSONValue is ExpressibleByNilLiteral, so where a bare `nil`
/// could become `.null` the code says `Optional.none`.)
private struct SmallReader {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    var index = 0
    /// For `parseSmallObject`: the top-level members to build; nil builds all.
    var keeping: [StaticString]?

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) -> JSONValue? {
        skipWhitespace()
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            guard depth < maxDepth else { return Optional.none }
            return object(depth: depth)
        case UInt8(ascii: "["):
            guard depth < maxDepth else { return Optional.none }
            return array(depth: depth)
        case UInt8(ascii: "\""): return string().map(JSONValue.string)
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return integer()
        default: return nil
        }
    }

    private mutating func object(depth: Int) -> JSONValue? {
        index += 1  // {
        var members: [JSONObject.Element] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(JSONObject())
        }
        members.reserveCapacity(4)
        let keeping = depth == 0 ? self.keeping : nil
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            // A plain key is looked at in place, so a member that is skipped never becomes a String.
            var key: String?
            var keep = true
            if let raw = plainString() {
                if let keeping { keep = keeping.contains { sameBytes(raw, $0) } }
                if keep {
                    key = Self.validated(raw)
                } else if !Self.isValidUTF8(raw) {
                    return nil
                }
            } else {
                key = string()
                if let keeping, let key { keep = keeping.contains { Self.equal(key, $0) } }
            }
            guard !keep || key != nil else { return nil }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            if keep, let key {
                guard let member = value(depth: depth + 1), !members.contains(where: { $0.key == key }) else {
                    return nil
                }
                members.append((key, member))
            } else {
                guard skip(depth: depth + 1) else { return nil }
            }
            skipWhitespace()
            guard index < bytes.count else { return nil }
            let separator = bytes[index]
            index += 1
            if separator == UInt8(ascii: "}") { return .object(JSONObject(uniqueMembers: members)) }
            guard separator == UInt8(ascii: ",") else { return nil }
        }
    }

    /// At an opening quote: the string's bytes if it has no escapes (its UTF-8 not yet checked), the
    /// cursor after its closing quote; nil with the cursor unmoved otherwise.
    mutating func plainString() -> UnsafeRawBufferPointer? {
        let start = index + 1
        var end = start
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") {
                index = end + 1
                return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            end += 1
        }
        return nil
    }

    /// Checks one value as `value` would, without building it.
    mutating func skip(depth: Int) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { return false }
        switch bytes[index] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = bytes[index] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            guard depth < maxDepth else { return false }
            index += 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == close {
                index += 1
                return true
            }
            while true {
                if close == UInt8(ascii: "}") {
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), skipString() else { return false }
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return false }
                    index += 1
                }
                guard skip(depth: depth + 1) else { return false }
                skipWhitespace()
                guard index < bytes.count else { return false }
                let separator = bytes[index]
                index += 1
                if separator == close { return true }
                guard separator == UInt8(ascii: ",") else { return false }
            }
        case UInt8(ascii: "\""): return skipString()
        default: return value(depth: depth) != nil
        }
    }

    /// Checks a string as `string` would (escapes, UTF-8), without building it.
    private mutating func skipString() -> Bool {
        index += 1  // "
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                // Escapes are ASCII, so checking the raw span checks the text it stands for.
                let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return Self.isValidUTF8(raw)
            }
            if byte == UInt8(ascii: "\\") {
                index += 1
                guard index < bytes.count else { return false }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    continue
                case UInt8(ascii: "u"):
                    guard unicodeEscape() != nil else { return false }
                    continue
                default: return false
                }
            }
            if byte < 0x20 { return false }
            index += 1
        }
        return false
    }

    private static func equal(_ key: String, _ name: StaticString) -> Bool {
        var key = key
        return key.withUTF8 { sameBytes(UnsafeRawBufferPointer($0), name) }
    }

    private mutating func array(depth: Int) -> JSONValue? {
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            guard let element = value(depth: depth + 1) else { return nil }
            elements.append(element)
            skipWhitespace()
            guard index < bytes.count else { return nil }
            let separator = bytes[index]
            index += 1
            if separator == UInt8(ascii: "]") { return .array(elements) }
            guard separator == UInt8(ascii: ",") else { return nil }
        }
    }

    private mutating func literal(_ word: StaticString, _ result: JSONValue) -> JSONValue? {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { return nil }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return nil }
        index += count
        return result
    }

    /// An integer with no fraction or exponent that fits in Int64.
    private mutating func integer() -> JSONValue? {
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let start = index
        var magnitude: UInt64 = 0
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
            index += 1
        }
        let digits = index - start
        guard digits > 0, !(digits > 1 && bytes[start] == UInt8(ascii: "0")) else { return nil }
        if index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return nil
            default: break
            }
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return .int(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return .int(Int64(magnitude))
    }

    /// A string starting at the opening quote; escapes decoded, the result checked as UTF-8.
    mutating func string() -> String? {
        index += 1  // "
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return Self.validated(raw)
            }
            if byte == UInt8(ascii: "\\") { return escapedString(from: start) }
            if byte < 0x20 { return nil }
            index += 1
        }
        return nil
    }

    /// The slow lane of `string`: copies into a buffer while decoding escapes.
    private mutating func escapedString(from start: Int) -> String? {
        var decoded = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return decoded.withUnsafeBytes { Self.validated($0) }
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escape)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"):
                    guard let scalar = unicodeEscape() else { return nil }
                    decoded.append(contentsOf: UTF8.encode(scalar)!)
                default: return nil
                }
            case 0..<0x20:
                return nil
            default:
                decoded.append(byte)
            }
        }
        return nil
    }

    /// After `\u`: four hex digits, or a surrogate pair written as two escapes. NUL and lone
    /// surrogates are left to jansson (which refuses both).
    private mutating func unicodeEscape() -> Unicode.Scalar? {
        guard let first = hex4() else { return nil }
        switch first {
        case 0: return nil
        case 0xD800...0xDBFF:
            guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { return nil }
            index += 2
            guard let second = hex4(), (0xDC00...0xDFFF).contains(second) else { return nil }
            return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
        case 0xDC00...0xDFFF: return nil
        default: return Unicode.Scalar(first)
        }
    }

    private mutating func hex4() -> UInt32? {
        guard bytes.count - index >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// The bytes as a String if they are valid UTF-8 by jansson's rules (no overlong forms, no surrogates,
    /// nothing past U+10FFFF). Checked here rather than with `String(validating:)`, whose generic code
    /// looked up type metadata on every call and cost more than the rest of the parse.
    private static func validated(_ raw: UnsafeRawBufferPointer) -> String? {
        if let known = KnownKeys.match(raw) { return known }
        guard isValidUTF8(raw) else { return nil }
        return String(decoding: raw.assumingMemoryBound(to: UInt8.self), as: UTF8.self)
    }

    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        // ASCII eight bytes at a time: nearly all of a streamed answer.
        while count - index >= 8,
            bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
        {
            index += 8
        }
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var scalar: UInt32
            switch lead {
            case 0xC2...0xDF: (length, scalar) = (2, UInt32(lead & 0x1F))
            case 0xE0...0xEF: (length, scalar) = (3, UInt32(lead & 0x0F))
            case 0xF0...0xF4: (length, scalar) = (4, UInt32(lead & 0x07))
            default: return false
            }
            guard count - index >= length else { return false }
            for offset in 1..<length {
                let continuation = bytes[index + offset]
                guard continuation & 0xC0 == 0x80 else { return false }
                scalar = scalar << 6 | UInt32(continuation & 0x3F)
            }
            let minimum: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
            guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { return false }
            index += length
        }
        return true
    }
}

/// The two member names of streamed events too long to be stored inline in a String (15 bytes and under
/// are): matched by bytes and returned as string literals, which are never allocated.
private enum KnownKeys {
    static func match(_ raw: UnsafeRawBufferPointer) -> String? {
        switch raw.count {
        case 17 where sameBytes(raw, "contentBlockIndex"): return "contentBlockIndex"
        case 16 where sameBytes(raw, "reasoningContent"): return "reasoningContent"
        default: return nil
        }
    }
}

/// Whether `raw` holds exactly the bytes of `text` (a plain loop: the generic `elementsEqual` showed up in
/// profiles).
private func sameBytes(_ raw: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
    guard raw.count == text.utf8CodeUnitCount else { return false }
    let other = text.utf8Start
    for offset in 0..<raw.count where raw[offset] != other[offset] { return false }
    return true
}

/// Reads a small JSON document in place, for a caller that wants a few values out of it without building
/// it (the text deltas of a stream: an index and a string). It follows `parseSmall`'s rules: every method
/// fails (nil or false) at anything `parseSmall` would not take, and the caller then parses the document
/// with jansson, which decides. Keys with escapes are not taken either.
public struct JSONSmallCursor {
    private var reader: SmallReader

    public init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 4) {
        reader = SmallReader(bytes: bytes, maxDepth: maxDepth)
    }

    /// Reads an object: `member` gets each key's bytes (valid only during the call) with the cursor at its
    /// value, and must read or skip that value and return true. Duplicate keys are the caller's to notice.
    public mutating func readObject(_ member: (UnsafeRawBufferPointer, inout JSONSmallCursor) -> Bool) -> Bool {
        reader.skipWhitespace()
        guard reader.index < reader.bytes.count, reader.bytes[reader.index] == UInt8(ascii: "{") else { return false }
        reader.index += 1
        reader.skipWhitespace()
        if reader.index < reader.bytes.count, reader.bytes[reader.index] == UInt8(ascii: "}") {
            reader.index += 1
            return true
        }
        while true {
            reader.skipWhitespace()
            guard reader.index < reader.bytes.count, reader.bytes[reader.index] == UInt8(ascii: "\""),
                let key = reader.plainString(), SmallReader.isValidUTF8(key)
            else { return false }
            reader.skipWhitespace()
            guard reader.index < reader.bytes.count, reader.bytes[reader.index] == UInt8(ascii: ":") else {
                return false
            }
            reader.index += 1
            guard member(key, &self) else { return false }
            reader.skipWhitespace()
            guard reader.index < reader.bytes.count else { return false }
            let separator = reader.bytes[reader.index]
            reader.index += 1
            if separator == UInt8(ascii: "}") { return true }
            guard separator == UInt8(ascii: ",") else { return false }
        }
    }

    public mutating func readString() -> String? {
        reader.skipWhitespace()
        guard reader.index < reader.bytes.count, reader.bytes[reader.index] == UInt8(ascii: "\"") else { return nil }
        return reader.string()
    }

    public mutating func readInteger() -> Int64? {
        guard case .int(let value)? = reader.value(depth: reader.maxDepth) else { return nil }
        return value
    }

    /// Checks the next value without building it.
    public mutating func skipValue() -> Bool {
        reader.skip(depth: 1)
    }

    /// True when only whitespace is left.
    public mutating func atEnd() -> Bool {
        reader.skipWhitespace()
        return reader.index == reader.bytes.count
    }

    /// Whether a key's bytes spell `name`.
    public static func key(_ bytes: UnsafeRawBufferPointer, is name: StaticString) -> Bool {
        sameBytes(bytes, name)
    }
}
