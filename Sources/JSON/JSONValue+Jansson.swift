internal import CJansson

/// Why a JSON text could not be read: jansson's message and where it stopped.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// 1-based line and column of the offending input, 0 when unknown.
    public var line: Int
    public var column: Int
    /// Byte offset into the input.
    public var position: Int

    public init(message: String, line: Int = 0, column: Int = 0, position: Int = 0) {
        self.message = message
        self.line = line
        self.column = column
        self.position = position
    }

    public var description: String {
        line > 0 ? "\(message) at line \(line), column \(column)" : message
    }
}

extension JSONValue {
    /// Nesting deeper than this is refused; it keeps recursion in the converters
    /// far from the stack limit of a secondary thread.
    public static let defaultMaxDepth = 512

    /// Parses one JSON text (any value at the top level) with jansson.
    ///
    /// Invalid UTF-8, integers beyond Int64 and trailing garbage are errors with
    /// line and column. The jansson tree is released before returning.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth
    ) throws(JSONError) -> JSONValue {
        var error = json_error_t()
        let flags = JSON_DECODE_ANY | JSON_ALLOW_NUL
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count > 0 else {
            throw JSONError(message: "empty input: expected a JSON value", line: 1, column: 0)
        }
        guard let root = json_loadb(base, bytes.count, size_t(flags), &error) else {
            throw JSONError(error)
        }
        defer { CJansson_decref(root) }
        return try JSONValue(borrowing: root, depth: 0, maxDepth: maxDepth)
    }

    /// Checks that `bytes` is one JSON text, as `parse` reads it, without building a value: jansson's tree is
    /// made and released at once. Nil when it is valid.
    public static func validate(_ bytes: UnsafeRawBufferPointer) -> JSONError? {
        var error = json_error_t()
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count > 0 else {
            return JSONError(message: "empty input: expected a JSON value", line: 1, column: 0)
        }
        guard let root = json_loadb(base, bytes.count, size_t(JSON_DECODE_ANY | JSON_ALLOW_NUL), &error) else {
            return JSONError(error)
        }
        CJansson_decref(root)
        return nil
    }

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        do {
            return try bytes.withUnsafeBytes { raw in try parse(raw, maxDepth: maxDepth) }
        } catch let error as JSONError {
            throw error
        } catch {
            fatalError("unreachable: parse throws only JSONError")
        }
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    /// Converts a jansson value the caller keeps ownership of.
    private init(borrowing json: UnsafeMutablePointer<json_t>, depth: Int, maxDepth: Int) throws(JSONError) {
        switch json_type(rawValue: UInt32(CJansson_typeof(json))) {
        case JSON_OBJECT:
            guard depth < maxDepth else { throw JSONError(message: "JSON nested deeper than \(maxDepth) levels") }
            var object = JSONObject()
            var iter = json_object_iter(json)
            while let current = iter {
                let keyPointer = json_object_iter_key(current)!
                let keyLength = json_object_iter_key_len(current)
                let key = String(
                    decoding: UnsafeRawBufferPointer(start: keyPointer, count: keyLength), as: UTF8.self)
                object[key] = try JSONValue(
                    borrowing: json_object_iter_value(current), depth: depth + 1, maxDepth: maxDepth)
                iter = json_object_iter_next(json, current)
            }
            self = .object(object)
        case JSON_ARRAY:
            guard depth < maxDepth else { throw JSONError(message: "JSON nested deeper than \(maxDepth) levels") }
            let count = json_array_size(json)
            var array: [JSONValue] = []
            array.reserveCapacity(count)
            for index in 0..<count {
                array.append(
                    try JSONValue(borrowing: json_array_get(json, index), depth: depth + 1, maxDepth: maxDepth))
            }
            self = .array(array)
        case JSON_STRING:
            let length = json_string_length(json)
            self = .string(
                String(decoding: UnsafeRawBufferPointer(start: json_string_value(json), count: length), as: UTF8.self))
        case JSON_INTEGER:
            self = .int(Int64(json_integer_value(json)))
        case JSON_REAL:
            self = .double(json_real_value(json))
        case JSON_TRUE:
            self = .bool(true)
        case JSON_FALSE:
            self = .bool(false)
        default:
            self = .null
        }
    }
}

extension JSONValue {
    /// Strings at least this long are not copied into jansson's tree: jansson writes the document with a
    /// placeholder for each, then escapes the string itself a slice at a time into the output. A long
    /// answer (the result of a chat, a session's partial save) is then in memory once less.
    static let spliceThreshold = 64 << 10

    /// Writes the value as compact UTF-8 JSON with jansson, object keys in their order.
    ///
    /// jansson prints every double with one precision for the whole document; it is
    /// chosen as the fewest digits that read back every double exactly, so 0.7 stays
    /// "0.7". Non-finite doubles, which JSON cannot carry, are written as null.
    public func serialized(pretty: Bool = false) -> [UInt8] {
        serialized(pretty: pretty, spliceAbove: Self.spliceThreshold)
    }

    /// `serialized(pretty:)` with the splice threshold given, and the placeholders' nonce (for tests; by
    /// default a random one, drawn only for a document that has a long string).
    func serialized(pretty: Bool, spliceAbove threshold: Int, nonce: UInt64? = nil) -> [UInt8] {
        var build = JanssonBuild(threshold: threshold, fixedNonce: nonce)
        guard let root = makeJansson(&build) else { return Array("null".utf8) }
        var flags = size_t(JSON_ENCODE_ANY) | CJansson_real_precision(Int32(max(build.maxDigits, 1)))
        flags |= pretty ? 2 : size_t(JSON_COMPACT)  // 2 is JSON_INDENT(2)
        let skeleton = Self.dump(root, flags: flags, reserve: build.size)
        CJansson_decref(root)
        guard let skeleton else { return Array("null".utf8) }
        guard let nonce = build.nonce else { return skeleton }
        // A placeholder found other than once means a string of the document spelled one out: write the
        // whole document the plain way instead.
        return Self.splice(build.spliced, into: skeleton, nonce: nonce)
            ?? serialized(pretty: pretty, spliceAbove: .max)
    }

    /// The value as a JSON text.
    public var jsonString: String {
        String(decoding: serialized(), as: UTF8.self)
    }

    /// One pass through json_dump_callback (json_dumpb would need a second pass to learn the size) into a
    /// buffer with room for `reserve` bytes, so that a large document is not copied through a doubling
    /// buffer; escapes may still make it grow once. Nil if jansson failed.
    private static func dump(_ root: UnsafeMutablePointer<json_t>, flags: size_t, reserve: Int) -> [UInt8]? {
        let sink = ByteSink()
        sink.bytes.reserveCapacity(reserve + reserve / 32 + 16)
        let status = json_dump_callback(
            root,
            { bytes, count, context in
                guard let context else { return -1 }
                let sink = Unmanaged<ByteSink>.fromOpaque(context).takeUnretainedValue()
                sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: count))
                return 0
            }, Unmanaged.passUnretained(sink).toOpaque(), flags)
        guard status == 0, !sink.bytes.isEmpty else { return nil }
        return sink.bytes
    }

    /// The placeholder written for the `index`th spliced string.
    private static func placeholder(_ index: Int, nonce: UInt64) -> String {
        "contenox-splice-\(String(nonce, radix: 16))-\(index)"
    }

    /// The skeleton with each placeholder replaced by its string as jansson escapes it; nil if a
    /// placeholder is not found exactly once.
    private static func splice(_ strings: [String], into skeleton: [UInt8], nonce: UInt64) -> [UInt8]? {
        // Where each placeholder's text starts, with its closing quote in the pattern so "-1" is not
        // found inside "-10".
        var cuts: [(at: Int, length: Int, string: Int)] = []
        for index in strings.indices {
            let pattern = Array((placeholder(index, nonce: nonce) + "\"").utf8)
            guard let first = skeleton.firstRange(of: pattern),
                skeleton[first.upperBound...].firstRange(of: pattern) == nil
            else { return nil }
            cuts.append((first.lowerBound, pattern.count - 1, index))
        }
        cuts.sort { $0.at < $1.at }
        var output: [UInt8] = []
        output.reserveCapacity(skeleton.count + strings.reduce(0) { $0 + $1.utf8.count + $1.utf8.count / 32 })
        var position = 0
        for cut in cuts {
            output.append(contentsOf: skeleton[position..<cut.at])
            guard appendEscaped(strings[cut.string], to: &output) else { return nil }
            position = cut.at + cut.length
        }
        output.append(contentsOf: skeleton[position...])
        return output
    }

    /// Slices of a long string, cut on character boundaries, each escaped by jansson alone: jansson escapes
    /// one code point at a time, so the slices' escapes joined are the whole string's.
    private static let sliceBytes = 16 << 10

    /// Appends `string` as jansson escapes it, without quotes; false if jansson refused a slice.
    static func appendEscaped(_ string: String, to output: inout [UInt8]) -> Bool {
        var string = string
        return string.withUTF8 { utf8 -> Bool in
            var start = 0
            while start < utf8.count {
                var end = min(start + sliceBytes, utf8.count)
                while end < utf8.count, utf8[end] & 0xC0 == 0x80 { end -= 1 }
                let slice = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[start..<end])
                let piece = slice.withMemoryRebound(to: CChar.self) { json_stringn_nocheck($0.baseAddress, $0.count) }
                guard let piece else { return false }
                let escaped = dump(piece, flags: size_t(JSON_ENCODE_ANY), reserve: slice.count)
                CJansson_decref(piece)
                guard let escaped, escaped.count >= 2 else { return false }
                output.append(contentsOf: escaped[1..<(escaped.count - 1)])  // without its quotes
                start = end
            }
            return true
        }
    }

    /// Builds a new jansson tree the caller owns. `build` records the most significant digits any double
    /// needs to round-trip, a rough length of the compact text, and the strings left out to be spliced.
    private func makeJansson(_ build: inout JanssonBuild) -> UnsafeMutablePointer<json_t>? {
        build.size += 8
        switch self {
        case .null: return json_null()
        case .bool(let b): return b ? json_true() : json_false()
        case .int(let i): return json_integer(json_int_t(i))
        case .double(let d):
            guard d.isFinite else { return json_null() }
            build.maxDigits = max(build.maxDigits, Self.significantDigits(d))
            build.size += 16
            return json_real(d)
        case .string(let s):
            let length = s.utf8.count
            if length >= build.threshold {  // the skeleton holds only the placeholder
                let placeholder = Self.placeholder(build.spliced.count, nonce: build.placeholderNonce())
                build.spliced.append(s)
                return Self.janssonString(placeholder)
            }
            build.size += length
            return Self.janssonString(s)
        case .array(let elements):
            let array = json_array()
            for element in elements {
                if let child = element.makeJansson(&build) {
                    json_array_append_new(array, child)
                }
            }
            return array
        case .object(let members):
            let object = json_object()
            for (key, value) in members {
                guard let child = value.makeJansson(&build) else { continue }
                var key = key
                build.size += key.utf8.count
                key.withUTF8 { utf8 in
                    guard let base = utf8.baseAddress, utf8.count > 0 else {
                        _ = json_object_setn_new_nocheck(object, "", 0, child)
                        return
                    }
                    base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                        _ = json_object_setn_new_nocheck(object, $0, utf8.count, child)
                    }
                }
            }
            return object
        }
    }

    private static func janssonString(_ string: String) -> UnsafeMutablePointer<json_t>? {
        var string = string
        return string.withUTF8 { utf8 in
            guard let base = utf8.baseAddress, utf8.count > 0 else { return json_string_nocheck("") }
            return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                json_stringn_nocheck($0, utf8.count)
            }
        }
    }

    /// The `%g` precision that prints `value` as its shortest round-trip decimal:
    /// its significant digits (from Swift's `description`, which is that shortest
    /// form), and at least its integer digits so that 100.0 is not written 1e+02.
    static func significantDigits(_ value: Double) -> Int {
        let mantissa = value.description.utf8.prefix { $0 != UInt8(ascii: "e") && $0 != UInt8(ascii: "E") }
        var digits = mantissa.filter { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        while digits.first == UInt8(ascii: "0") { digits.removeFirst() }
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        var needed = max(digits.count, 1)
        let magnitude = value.magnitude
        if magnitude >= 1, magnitude < 1e17 {
            needed = max(needed, String(Int64(magnitude)).count)
        }
        return min(needed, 17)
    }
}

/// Collects json_dump_callback's output; lives only for one `dump` call.
private final class ByteSink {
    var bytes: [UInt8] = []
}

/// What `makeJansson` gathers while it builds a tree.
private struct JanssonBuild {
    let threshold: Int
    let fixedNonce: UInt64?
    var maxDigits = 0
    var size = 0
    var spliced: [String] = []
    /// Set once a string is left out; random unless fixed. Drawn lazily: most documents (every streamed
    /// delta) have no long string, and a random number is a getrandom(2) call.
    private(set) var nonce: UInt64?

    init(threshold: Int, fixedNonce: UInt64?) {
        self.threshold = threshold
        self.fixedNonce = fixedNonce
    }

    mutating func placeholderNonce() -> UInt64 {
        if let nonce { return nonce }
        let drawn = fixedNonce ?? UInt64.random(in: 0...UInt64.max)
        nonce = drawn
        return drawn
    }
}

extension JSONError {
    /// jansson's report: its message, line, column and byte position.
    init(_ error: json_error_t) {
        let text = withUnsafeBytes(of: error.text) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        self.init(message: text, line: Int(error.line), column: Int(error.column), position: Int(error.position))
    }
}
