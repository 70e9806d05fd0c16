import JSON

/// The tools an ACP agent offers the model: the client's file system, where the client offers it.
public enum ACPTools {
    public static let readFile = "read_file"
    public static let writeFile = "write_file"

    /// Converse's `toolConfig` for the tools the client's capabilities allow; nil when it allows none.
    public static func toolConfig(canRead: Bool, canWrite: Bool) -> JSONValue? {
        var tools: [JSONValue] = []
        if canRead {
            tools.append(
                spec(
                    readFile, "Read a text file of the user's project. Paths are relative to the project directory.",
                    ["path": ["type": "string", "description": "the file's path"]]))
        }
        if canWrite {
            tools.append(
                spec(
                    writeFile,
                    "Write a text file of the user's project (the user is asked first). Paths are relative to the "
                        + "project directory.",
                    [
                        "path": ["type": "string", "description": "the file's path"],
                        "content": ["type": "string", "description": "the whole new text of the file"],
                    ]))
        }
        return tools.isEmpty ? nil : ["tools": .array(tools)]
    }

    private static func spec(_ name: String, _ description: String, _ properties: JSONObject) -> JSONValue {
        [
            "toolSpec": [
                "name": .string(name), "description": .string(description),
                "inputSchema": [
                    "json": [
                        "type": "object", "properties": .object(properties),
                        "required": .array(properties.keys.sorted().map(JSONValue.string)),
                    ]
                ],
            ]
        ]
    }

    /// A toolResult block: `{toolResult: {toolUseId, content: [{text}], status?}}`.
    public static func result(id: String, text: String, failed: Bool) -> JSONValue {
        var result: JSONObject = ["toolUseId": .string(id), "content": [["text": .string(text)]]]
        if failed { result["status"] = "error" }
        return ["toolResult": .object(result)]
    }
}
