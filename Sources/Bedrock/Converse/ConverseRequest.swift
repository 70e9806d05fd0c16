import JSON

/// A Converse / ConverseStream request.
public struct ConverseRequest: Sendable, Equatable {
    /// A model id, inference-profile id, or ARN; percent-encoded into the path when sent.
    public var modelID: String
    public var messages: [ConverseMessage]
    /// SystemContentBlocks, e.g. `[{"text": "..."}]`.
    public var system: [JSONValue]?
    /// `{maxTokens, temperature, topP, stopSequences}`.
    public var inferenceConfig: JSONValue?
    /// `{tools: [{toolSpec: {name, description, inputSchema: {json}}}], toolChoice}`.
    public var toolConfig: JSONValue?
    public var additionalModelRequestFields: JSONValue?
    /// Request fields sent as they are, by name: `guardrailConfig`, `performanceConfig`, `serviceTier`,
    /// `requestMetadata`, `additionalModelResponseFieldPaths` (see `passthroughFields`).
    public var passthrough: JSONObject = [:]

    /// The request fields contenox passes through unchanged.
    public static let passthroughFields = [
        "guardrailConfig", "performanceConfig", "serviceTier", "requestMetadata", "additionalModelResponseFieldPaths",
    ]

    public init(
        modelID: String, messages: [ConverseMessage], system: [JSONValue]? = nil, inferenceConfig: JSONValue? = nil,
        toolConfig: JSONValue? = nil, additionalModelRequestFields: JSONValue? = nil
    ) {
        self.modelID = modelID
        self.messages = messages
        self.system = system
        self.inferenceConfig = inferenceConfig
        self.toolConfig = toolConfig
        self.additionalModelRequestFields = additionalModelRequestFields
    }

    /// The HTTP body: consecutive messages of the same role merged into one (Bedrock wants roles to
    /// alternate), tool names made valid for Bedrock (see `toolNames`), absent fields left out.
    public var bodyJSON: JSONValue {
        let names = toolNames
        var merged: [ConverseMessage] = []
        for message in messages {
            let content = message.content.map { names.outgoing($0) }
            if let last = merged.last, last.role == message.role {
                merged[merged.count - 1].content += content
            } else {
                merged.append(ConverseMessage(role: message.role, content: content))
            }
        }
        var body: JSONObject = ["messages": .array(merged.map(\.json))]
        if let system, !system.isEmpty { body["system"] = .array(system) }
        if let inferenceConfig, !inferenceConfig.isNull { body["inferenceConfig"] = inferenceConfig }
        if let toolConfig, !toolConfig.isNull { body["toolConfig"] = names.outgoing(toolConfig: toolConfig) }
        if let fields = additionalModelRequestFields, !fields.isNull { body["additionalModelRequestFields"] = fields }
        for (key, value) in passthrough where Self.passthroughFields.contains(key) && !value.isNull {
            body[key] = value
        }
        return .object(body)
    }

    /// The mapping between the tool names callers use and names Bedrock accepts (`[a-zA-Z0-9_-]{1,64}`).
    public var toolNames: ToolNameMap {
        var names: [String] = []
        for tool in toolConfig?["tools"]?.arrayValue ?? [] {
            if let name = tool["toolSpec"]?["name"]?.stringValue { names.append(name) }
        }
        if let name = toolConfig?["toolChoice"]?["tool"]?["name"]?.stringValue { names.append(name) }
        for message in messages {
            for case .toolUse(_, let name, _) in message.content { names.append(name) }
        }
        return ToolNameMap(names: names)
    }
}

/// Two-way mapping of tool names: invalid characters become `_`, names are cut to 64 characters, and
/// collisions get a numeric suffix. Names that are already valid map to themselves.
public struct ToolNameMap: Sendable, Equatable {
    public private(set) var toBedrock: [String: String] = [:]
    public private(set) var fromBedrock: [String: String] = [:]

    public init(names: [String]) {
        for name in names where toBedrock[name] == nil {
            var candidate = Self.sanitize(name)
            var n = 2
            while let owner = fromBedrock[candidate], owner != name {
                let suffix = "_\(n)"
                candidate = String(Self.sanitize(name).prefix(64 - suffix.count)) + suffix
                n += 1
            }
            toBedrock[name] = candidate
            fromBedrock[candidate] = name
        }
    }

    static func sanitize(_ name: String) -> String {
        var out = String(
            name.unicodeScalars.map { scalar -> Character in
                let ok = scalar.isASCII && (isASCIIAlphanumeric(scalar) || scalar == "_" || scalar == "-")
                return ok ? Character(scalar) : "_"
            })
        if out.isEmpty { out = "tool" }
        return String(out.prefix(64))
    }

    public func bedrockName(_ name: String) -> String { toBedrock[name] ?? name }
    public func originalName(_ name: String) -> String { fromBedrock[name] ?? name }

    func outgoing(_ block: ContentBlock) -> ContentBlock {
        if case .toolUse(let id, let name, let input) = block {
            return .toolUse(id: id, name: bedrockName(name), input: input)
        }
        return block
    }

    func incoming(_ block: ContentBlock) -> ContentBlock {
        if case .toolUse(let id, let name, let input) = block {
            return .toolUse(id: id, name: originalName(name), input: input)
        }
        return block
    }

    func outgoing(toolConfig: JSONValue) -> JSONValue {
        guard var config = toolConfig.objectValue else { return toolConfig }
        if let tools = config["tools"]?.arrayValue {
            config["tools"] = .array(
                tools.map { tool in
                    guard var object = tool.objectValue, var spec = object["toolSpec"]?.objectValue,
                        let name = spec["name"]?.stringValue
                    else { return tool }
                    spec["name"] = .string(bedrockName(name))
                    object["toolSpec"] = .object(spec)
                    return .object(object)
                })
        }
        if var choice = config["toolChoice"]?.objectValue, var tool = choice["tool"]?.objectValue,
            let name = tool["name"]?.stringValue
        {
            tool["name"] = .string(bedrockName(name))
            choice["tool"] = .object(tool)
            config["toolChoice"] = .object(choice)
        }
        return .object(config)
    }

    /// A stream event with any tool name mapped back to the caller's.
    func incoming(_ event: ConverseStreamEvent) -> ConverseStreamEvent {
        guard case .contentBlockStart(let index, let start) = event, var object = start.objectValue,
            var toolUse = object["toolUse"]?.objectValue, let name = toolUse["name"]?.stringValue
        else { return event }
        toolUse["name"] = .string(originalName(name))
        object["toolUse"] = .object(toolUse)
        return .contentBlockStart(index: index, start: .object(object))
    }
}

private func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    default: return false
    }
}
