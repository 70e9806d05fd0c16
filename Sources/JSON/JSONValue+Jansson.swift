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
            let text = withUnsafeBytes(of: error.text) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            throw JSONError(
                message: text, line: Int(error.line), column: Int(error.column), position: Int(error.position))
        }
        defer { CJansson_decref(root) }
        return try JSONValue(borrowing: root, depth: 0, maxDepth: maxDepth)
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
    /// Writes the value as compact UTF-8 JSON with jansson, object keys in their order.
    ///
    /// jansson prints every double with one precision for the whole document; it is
    /// chosen as the fewest digits that read back every double exactly, so 0.7 stays
    /// "0.7". Non-finite doubles, which JSON cannot carry, are written as null.
    public func serialized(pretty: Bool = false) -> [UInt8] {
        var digits = 0
        var estimate = 0
        guard let root = makeJansson(maxDigits: &digits, size: &estimate) else { return Array("null".utf8) }
        defer { CJansson_decref(root) }
        var flags = size_t(JSON_ENCODE_ANY) | CJansson_real_precision(Int32(max(digits, 1)))
        flags |= pretty ? 2 : size_t(JSON_COMPACT)  // 2 is JSON_INDENT(2)
        // One pass through json_dump_callback (json_dumpb would need a second pass to learn the size).
        let sink = ByteSink()
        // Room for the text as estimated while building the tree, so that a large document (a long
        // answer) is not copied through a doubling buffer; escapes may still make it grow once.
        sink.bytes.reserveCapacity(estimate + estimate / 32 + 16)
        let status = json_dump_callback(
            root,
            { bytes, count, context in
                guard let context else { return -1 }
                let sink = Unmanaged<ByteSink>.fromOpaque(context).takeUnretainedValue()
                sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: count))
                return 0
            }, Unmanaged.passUnretained(sink).toOpaque(), flags)
        guard status == 0, !sink.bytes.isEmpty else { return Array("null".utf8) }
        return sink.bytes
    }

    /// The value as a JSON text.
    public var jsonString: String {
        String(decoding: serialized(), as: UTF8.self)
    }

    /// Builds a new jansson tree the caller owns; records in `maxDigits` the most
    /// significant digits any double needs to round-trip.
    /// `size` accumulates a rough length of the compact text.
    private func makeJansson(maxDigits: inout Int, size: inout Int) -> UnsafeMutablePointer<json_t>? {
        size += 8
        switch self {
        case .null: return json_null()
        case .bool(let b): return b ? json_true() : json_false()
        case .int(let i): return json_integer(json_int_t(i))
        case .double(let d):
            guard d.isFinite else { return json_null() }
            maxDigits = max(maxDigits, Self.significantDigits(d))
            size += 16
            return json_real(d)
        case .string(let s):
            var s = s
            size += s.utf8.count
            return s.withUTF8 { utf8 in
                guard let base = utf8.baseAddress, utf8.count > 0 else { return json_string_nocheck("") }
                return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                    json_stringn_nocheck($0, utf8.count)
                }
            }
        case .array(let elements):
            let array = json_array()
            for element in elements {
                if let child = element.makeJansson(maxDigits: &maxDigits, size: &size) {
                    json_array_append_new(array, child)
                }
            }
            return array
        case .object(let members):
            let object = json_object()
            for (key, value) in members {
                guard let child = value.makeJansson(maxDigits: &maxDigits, size: &size) else { continue }
                var key = key
                size += key.utf8.count
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

/// Collects json_dump_callback's output; lives only for one `serialized` call.
private final class ByteSink {
    var bytes: [UInt8] = []
}
