import JSON

/// One turn of a conversation, as Converse takes and returns it.
public struct ConverseMessage: Sendable, Equatable {
    public enum Role: String, Sendable, Equatable {
        case user, assistant
    }

    public var role: Role
    public var content: [ContentBlock]

    public init(role: Role, content: [ContentBlock]) {
        self.role = role
        self.content = content
    }

    /// From Converse's `{role, content: [...]}`.
    public init(json: JSONValue) throws(BedrockError) {
        guard let object = json.objectValue else {
            throw .invalidRequest("A message must be an object, not \(json.typeName)")
        }
        guard let roleText = object["role"]?.stringValue, let role = Role(rawValue: roleText) else {
            throw .invalidRequest("A message's role must be \"user\" or \"assistant\"")
        }
        guard let blocks = object["content"]?.arrayValue else {
            throw .invalidRequest("A message's content must be an array of content blocks")
        }
        var content: [ContentBlock] = []
        for block in blocks { content.append(try ContentBlock(json: block)) }
        self.init(role: role, content: content)
    }

    public var json: JSONValue {
        ["role": .string(role.rawValue), "content": .array(content.map(\.json))]
    }
}

/// A Converse content block. Kinds contenox does not interpret travel as `.other` unchanged.
public enum ContentBlock: Sendable, Equatable {
    case text(String)
    /// `{format, source: {bytes: <base64>}}` as in Converse's JSON.
    case image(JSONValue)
    /// `{format, name, source: {bytes: <base64>}}`.
    case document(JSONValue)
    case toolUse(id: String, name: String, input: JSONValue)
    /// `{toolUseId, content: [...], status?}`.
    case toolResult(JSONValue)
    case reasoning(text: String, signature: String?)
    /// Base64 of the encrypted reasoning.
    case redactedReasoning(String)
    /// Any other block, the whole object (e.g. `{"cachePoint": {...}}`).
    case other(JSONValue)

    public init(json: JSONValue) throws(BedrockError) {
        guard let object = json.objectValue, object.count >= 1 else {
            throw .invalidRequest("A content block must be a non-empty object, not \(json.typeName)")
        }
        if let text = object["text"] {
            guard let s = text.stringValue else { throw .invalidRequest("content block text must be a string") }
            self = .text(s)
        } else if let image = object["image"] {
            try Self.checkBytes(image, kind: "image")
            self = .image(image)
        } else if let document = object["document"] {
            try Self.checkBytes(document, kind: "document")
            self = .document(document)
        } else if let toolUse = object["toolUse"] {
            guard let id = toolUse["toolUseId"]?.stringValue, let name = toolUse["name"]?.stringValue else {
                throw .invalidRequest("toolUse needs toolUseId and name strings")
            }
            self = .toolUse(id: id, name: name, input: toolUse["input"] ?? .object([:]))
        } else if let toolResult = object["toolResult"] {
            guard toolResult["toolUseId"]?.stringValue != nil else {
                throw .invalidRequest("toolResult needs a toolUseId string")
            }
            self = .toolResult(toolResult)
        } else if let reasoning = object["reasoningContent"] {
            if let redacted = reasoning["redactedContent"]?.stringValue {
                self = .redactedReasoning(redacted)
            } else if let text = reasoning["reasoningText"]?["text"]?.stringValue {
                self = .reasoning(text: text, signature: reasoning["reasoningText"]?["signature"]?.stringValue)
            } else {
                throw .invalidRequest("reasoningContent needs reasoningText.text or redactedContent")
            }
        } else {
            self = .other(json)
        }
    }

    /// Images and documents carry their bytes base64-encoded in `source.bytes` (or an S3 location).
    private static func checkBytes(_ value: JSONValue, kind: String) throws(BedrockError) {
        guard value["format"]?.stringValue != nil else { throw .invalidRequest("\(kind) needs a format") }
        guard let source = value["source"]?.objectValue else { throw .invalidRequest("\(kind) needs a source") }
        if let bytes = source["bytes"] {
            guard let text = bytes.stringValue, isBase64(text) else {
                throw .invalidRequest("\(kind).source.bytes must be a base64 string")
            }
        } else if source["s3Location"] == nil {
            throw .invalidRequest("\(kind).source needs bytes (base64) or s3Location")
        }
    }

    public var json: JSONValue {
        switch self {
        case .text(let s): return ["text": .string(s)]
        case .image(let v): return ["image": v]
        case .document(let v): return ["document": v]
        case .toolUse(let id, let name, let input):
            return ["toolUse": ["toolUseId": .string(id), "name": .string(name), "input": input]]
        case .toolResult(let v): return ["toolResult": v]
        case .reasoning(let text, let signature):
            var inner: JSONObject = ["text": .string(text)]
            if let signature { inner["signature"] = .string(signature) }
            return ["reasoningContent": ["reasoningText": .object(inner)]]
        case .redactedReasoning(let s): return ["reasoningContent": ["redactedContent": .string(s)]]
        case .other(let v): return v
        }
    }
}

func isBase64(_ s: String) -> Bool {
    let trimmed = s.utf8.filter { $0 != 0x0A && $0 != 0x0D }
    guard trimmed.count % 4 == 0 else { return false }
    var padding = 0
    for c in trimmed {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            if padding > 0 { return false }
        case UInt8(ascii: "="):
            padding += 1
            if padding > 2 { return false }
        default:
            return false
        }
    }
    return true
}

extension BedrockError {
    static func invalidRequest(_ message: String) -> BedrockError { .own("InvalidRequest", message) }
}
