import Basics
import Bedrock
import JSON
import JSONRPC

/// How ACP's shapes and Converse's map onto each other: prompt content, stop reasons, stored history as
/// `session/update`s, tool paths. Pure functions, so each rule is tested on its own.
public enum ACPMapping {
    /// A prompt block as Converse content. A `resource_link` is returned as `.link` for the agent to read
    /// through the client (or to name, when the client cannot read files).
    public enum PromptPart: Sendable, Equatable {
        case content(ContentBlock)
        case link(uri: String, name: String)
    }

    public static func promptPart(_ block: JSONValue) throws(ResponseError) -> PromptPart {
        switch block["type"]?.stringValue {
        case "text"?:
            guard let text = block["text"]?.stringValue else {
                throw .invalidParams("invalid params: text block without text")
            }
            return .content(.text(text))
        case "image"?:
            guard let data = block["data"]?.stringValue, let mime = block["mimeType"]?.stringValue else {
                throw .invalidParams("invalid params: image block needs data and mimeType")
            }
            return .content(try image(data: data, mimeType: mime))
        case "resource"?:
            guard let resource = block["resource"], let uri = resource["uri"]?.stringValue else {
                throw .invalidParams("invalid params: resource block needs resource.uri")
            }
            if let text = resource["text"]?.stringValue { return .content(.text(fileText(uri: uri, text: text))) }
            guard let blob = resource["blob"]?.stringValue else {
                throw .invalidParams("invalid params: resource \(uri.quoted()) has neither text nor blob")
            }
            let mime = resource["mimeType"]?.stringValue ?? ""
            if mime.hasPrefix("image/") { return .content(try image(data: blob, mimeType: mime)) }
            guard let format = documentFormats[mime] else {
                return .content(
                    .text("(attached \(uri), of type \(mime.isEmpty ? "unknown" : mime), which the model cannot read)"))
            }
            return .content(
                .document([
                    "format": .string(format), "name": .string(documentName(uri)), "source": ["bytes": .string(blob)],
                ]))
        case "resource_link"?:
            guard let uri = block["uri"]?.stringValue else {
                throw .invalidParams("invalid params: resource_link needs uri")
            }
            return .link(uri: uri, name: block["name"]?.stringValue ?? uri)
        case let other:
            throw .invalidParams("invalid params: unsupported prompt content \((other ?? "without type").quoted())")
        }
    }

    /// A file's text as the model sees it: named by its uri.
    public static func fileText(uri: String, text: String) -> String {
        "Contents of \(uri):\n```\n\(text)\n```"
    }

    /// A link the client cannot read for us, named so the model knows of it.
    public static func linkText(uri: String, name: String) -> String {
        "(the user referred to \(name) at \(uri))"
    }

    static let imageFormats = ["image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"]
    static let documentFormats = [
        "application/pdf": "pdf", "text/csv": "csv", "application/msword": "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
        "application/vnd.ms-excel": "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx", "text/html": "html",
        "text/plain": "txt", "text/markdown": "md",
    ]

    static func image(data: String, mimeType: String) throws(ResponseError) -> ContentBlock {
        guard let format = imageFormats[mimeType] else {
            throw .invalidParams(
                "invalid params: image type \(mimeType.quoted()) is not one Bedrock reads (png, jpeg, gif, webp)")
        }
        return .image(["format": .string(format), "source": ["bytes": .string(data)]])
    }

    /// Bedrock's rule for document names: letters, digits, single spaces, hyphens, parentheses, brackets.
    static func documentName(_ uri: String) -> String {
        let last = uri.split(separator: "/").last.map(String.init) ?? "document"
        let stem = last.split(separator: ".").first.map(String.init) ?? last
        let cleaned = String(stem.map { $0.isLetter || $0.isNumber || "-()[]".contains($0) ? $0 : "-" })
        return cleaned.isEmpty ? "document" : String(cleaned.prefix(200))
    }

    /// Bedrock's stop reason as ACP's (`tool_use` is handled by the tool loop before this).
    public static func stopReason(_ bedrock: String) -> String {
        switch bedrock {
        case "max_tokens", "model_context_window_exceeded": return "max_tokens"
        case "guardrail_intervened", "content_filtered": return "refusal"
        default: return "end_turn"
        }
    }

    /// Converse usage (summed over a prompt's turns) as ACP's `Usage`.
    public static func usage(_ turns: [JSONValue]) -> JSONValue {
        func sum(_ key: String) -> Int64 { turns.reduce(0) { $0 + ($1[key]?.intValue ?? 0) } }
        var usage: JSONObject = [
            "inputTokens": .int(sum("inputTokens")), "outputTokens": .int(sum("outputTokens")),
            "totalTokens": .int(sum("totalTokens")),
        ]
        if turns.contains(where: { $0["cacheReadInputTokens"] != nil }) {
            usage["cachedReadTokens"] = .int(sum("cacheReadInputTokens"))
        }
        if turns.contains(where: { $0["cacheWriteInputTokens"] != nil }) {
            usage["cachedWriteTokens"] = .int(sum("cacheWriteInputTokens"))
        }
        return .object(usage)
    }

    /// `usage_update` after a model call: the context the session now fills (`used`: the call's input,
    /// cached or not, and its output) out of the model's window (`size`); nil when the catalog does not
    /// know the model's window (the schema requires it).
    public static func usageUpdate(_ usage: JSONValue, model: String) -> JSONValue? {
        guard let size = ModelCatalog.contextWindow(of: model) else { return nil }
        let used = ["inputTokens", "cacheReadInputTokens", "cacheWriteInputTokens", "outputTokens"].reduce(Int64(0)) {
            $0 + (usage[$1]?.intValue ?? 0)
        }
        return ["sessionUpdate": "usage_update", "used": .int(used), "size": .int(Int64(size))]
    }

    /// A path the model gave, made absolute against the session's directory; nil when it leaves it.
    public static func resolve(_ path: String, in cwd: String) -> String? {
        var parts: [Substring] = []
        let joined = path.hasPrefix("/") ? path : cwd + "/" + path
        for part in joined.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if parts.popLast() == nil { return nil }
            default: parts.append(part)
            }
        }
        let resolved = "/" + parts.joined(separator: "/")
        let root = cwd.count > 1 && cwd.hasSuffix("/") ? String(cwd.dropLast()) : cwd
        guard resolved == root || resolved.hasPrefix(root == "/" ? "/" : root + "/") else { return nil }
        return resolved
    }

    /// A stored turn as the `session/update`s that show it again (`session/load`).
    public static func replay(role: String, content: JSONValue) -> [JSONValue] {
        let user = role == "user"
        return (content.arrayValue ?? []).compactMap { json -> JSONValue? in
            guard let block = try? ContentBlock(json: json) else { return nil }
            switch block {
            case .text(let text):
                return chunk(
                    user ? "user_message_chunk" : "agent_message_chunk", ["type": "text", "text": .string(text)])
            case .reasoning(let text, _):
                return chunk("agent_thought_chunk", ["type": "text", "text": .string(text)])
            case .image(let image):
                let mime = imageFormats.first { $0.value == image["format"]?.stringValue }?.key ?? "image/png"
                return chunk(
                    user ? "user_message_chunk" : "agent_message_chunk",
                    ["type": "image", "mimeType": .string(mime), "data": image["source"]?["bytes"] ?? ""])
            case .document(let document):
                let name = document["name"]?.stringValue ?? "document"
                return chunk(
                    user ? "user_message_chunk" : "agent_message_chunk", ["type": "text", "text": .string("[\(name)]")])
            case .toolUse(let id, let name, let input):
                return toolCall(id: id, name: name, input: input, status: "completed")
            case .toolResult(let result):
                let failed = result["status"]?.stringValue == "error"
                return [
                    "sessionUpdate": "tool_call_update", "toolCallId": result["toolUseId"] ?? "",
                    "status": .string(failed ? "failed" : "completed"),
                ]
            case .redactedReasoning, .other:
                return nil
            }
        }
    }

    static func chunk(_ kind: String, _ content: JSONValue) -> JSONValue {
        ["sessionUpdate": .string(kind), "content": content]
    }

    /// A `tool_call` update for a toolUse of one of the agent's tools.
    public static func toolCall(id: String, name: String, input: JSONValue, status: String) -> JSONValue {
        let path = input["path"]?.stringValue ?? ""
        let write = name == ACPTools.writeFile
        var update: JSONObject = [
            "sessionUpdate": "tool_call", "toolCallId": .string(id),
            "title": .string(write ? "Write \(path)" : name == ACPTools.readFile ? "Read \(path)" : name),
            "kind": .string(write ? "edit" : name == ACPTools.readFile ? "read" : "other"), "status": .string(status),
            "rawInput": input,
        ]
        if !path.isEmpty, path.hasPrefix("/") { update["locations"] = [["path": .string(path)]] }
        return .object(update)
    }
}
