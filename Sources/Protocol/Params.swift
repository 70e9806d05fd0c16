import JSON

/// A request's params, normalised: absent, `null`, `{}` and `[]` all mean "no params"
/// (editors send all four); anything else but an object is -32602.
///
/// The getters throw -32602 with a message that names the field and the expected type.
public struct Params: Sendable, Equatable {
    public var object: JSONObject

    public init(_ raw: JSONValue?) throws(ResponseError) {
        switch raw {
        case nil, .null?, .array([])?:
            object = JSONObject()
        case .object(let members)?:
            object = members
        case let other?:
            throw .invalidParams("invalid params: params must be an object, got \(other.typeName)")
        }
    }

    public init(_ object: JSONObject) { self.object = object }

    public var isEmpty: Bool { object.isEmpty }

    /// The raw member: nil when absent, `.null` when sent as null.
    public func value(_ key: String) -> JSONValue? { object[key] }

    /// The member, or -32602 when it is absent or null.
    public func requiredValue(_ key: String) throws(ResponseError) -> JSONValue {
        guard let value = present(key) else { throw Self.missing(key) }
        return value
    }

    public func string(_ key: String) throws(ResponseError) -> String {
        try required(key, optionalString(key))
    }

    public func optionalString(_ key: String) throws(ResponseError) -> String? {
        guard let value = present(key) else { return nil }
        guard case .string(let s) = value else { throw Self.mistyped(key, "a string", value) }
        return s
    }

    public func bool(_ key: String) throws(ResponseError) -> Bool {
        try required(key, optionalBool(key))
    }

    public func optionalBool(_ key: String) throws(ResponseError) -> Bool? {
        guard let value = present(key) else { return nil }
        guard case .bool(let b) = value else { throw Self.mistyped(key, "a boolean", value) }
        return b
    }

    public func int(_ key: String) throws(ResponseError) -> Int {
        try required(key, optionalInt(key))
    }

    /// An integer; a number with no fractional part (`3.0`) counts.
    public func optionalInt(_ key: String) throws(ResponseError) -> Int? {
        guard let value = present(key) else { return nil }
        guard let i = value.intValue, let int = Int(exactly: i) else { throw Self.mistyped(key, "an integer", value) }
        return int
    }

    public func optionalDouble(_ key: String) throws(ResponseError) -> Double? {
        guard let value = present(key) else { return nil }
        guard let d = value.doubleValue else { throw Self.mistyped(key, "a number", value) }
        return d
    }

    public func object(_ key: String) throws(ResponseError) -> JSONObject {
        try required(key, optionalObject(key))
    }

    public func optionalObject(_ key: String) throws(ResponseError) -> JSONObject? {
        guard let value = present(key) else { return nil }
        guard case .object(let o) = value else { throw Self.mistyped(key, "an object", value) }
        return o
    }

    public func array(_ key: String) throws(ResponseError) -> [JSONValue] {
        try required(key, optionalArray(key))
    }

    public func optionalArray(_ key: String) throws(ResponseError) -> [JSONValue]? {
        guard let value = present(key) else { return nil }
        guard case .array(let a) = value else { throw Self.mistyped(key, "an array", value) }
        return a
    }

    /// The member unless it is absent or null.
    private func present(_ key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    private func required<T>(_ key: String, _ value: T?) throws(ResponseError) -> T {
        guard let value else { throw Self.missing(key) }
        return value
    }

    private static func missing(_ key: String) -> ResponseError {
        .invalidParams("invalid params: missing required param '\(key)'")
    }

    private static func mistyped(_ key: String, _ expected: String, _ value: JSONValue) -> ResponseError {
        .invalidParams("invalid params: '\(key)' must be \(expected), got \(value.typeName)")
    }
}
