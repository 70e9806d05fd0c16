import Basics
import JSON

/// One ConverseStream event. `start` and `delta` are Converse's own JSON, forwarded unchanged to clients.
public enum ConverseStreamEvent: Sendable, Equatable {
    case messageStart(role: String)
    case contentBlockStart(index: Int, start: JSONValue)
    /// A delta that is text and nothing else (`{"text": ...}`): nearly every event of an answer, kept apart
    /// so that it travels as a String rather than as JSON.
    case textDelta(index: Int, text: String)
    /// Every other delta: tool input, reasoning, citations.
    case contentBlockDelta(index: Int, delta: JSONValue)
    case contentBlockStop(index: Int)
    case messageStop(stopReason: String, additionalModelResponseFields: JSONValue?)
    case metadata(usage: JSONValue, metrics: JSONValue?)

    /// Either kind of delta as Converse's JSON, with its block index.
    public var contentDelta: (index: Int, delta: JSONValue)? {
        switch self {
        case .textDelta(let index, let text): return (index, ["text": .string(text)])
        case .contentBlockDelta(let index, let delta): return (index, delta)
        default: return nil
        }
    }

    /// A delta event: `textDelta` when `delta` is text alone.
    static func delta(index: Int, _ delta: JSONValue) -> ConverseStreamEvent {
        if case .object(let object) = delta, object.count == 1, case .string(let text)? = object["text"] {
            return .textDelta(index: index, text: text)
        }
        return .contentBlockDelta(index: index, delta: delta)
    }

    private static let deltaMembers: [StaticString] = ["contentBlockIndex", "delta"]

    /// Decodes a message while the decoder's view of it is valid. A text delta (nearly every message of an
    /// answer) is read straight from the bytes without building any JSON; other deltas with
    /// `JSONValue.parseSmallObject`; anything else is copied and decoded like a whole message, with the same
    /// result.
    public static func decode(_ view: EventStreamMessageView, requestID: String? = nil) throws(BedrockError)
        -> ConverseStreamEvent?
    {
        guard view.isEvent("contentBlockDelta") else { return try decode(view.message, requestID: requestID) }
        if let (index, text) = textDelta(view.payload) { return .textDelta(index: index, text: text) }
        guard let payload = JSONValue.parseSmallObject(view.payload, keeping: deltaMembers),
            case .int(let index)? = payload["contentBlockIndex"], index >= 0, index < 1 << 20,
            let delta = payload["delta"]
        else { return try decode(view.message, requestID: requestID) }
        return .delta(index: Int(index), delta)
    }

    /// `{"contentBlockIndex": n, "delta": {"text": "..."}}` plus members nobody reads, in any order; nil for
    /// anything else.
    private static func textDelta(_ payload: UnsafeRawBufferPointer) -> (Int, String)? {
        var cursor = JSONSmallCursor(payload)
        var index: Int64?
        var text: String?
        var sawDelta = false
        let read =
            cursor.readObject { key, cursor in
                if JSONSmallCursor.key(key, is: "contentBlockIndex") {
                    guard index == nil, let value = cursor.readInteger() else { return false }
                    index = value
                    return true
                }
                if JSONSmallCursor.key(key, is: "delta") {
                    guard !sawDelta else { return false }
                    sawDelta = true
                    return cursor.readObject { key, cursor in
                        guard JSONSmallCursor.key(key, is: "text"), text == nil, let value = cursor.readString() else {
                            return false
                        }
                        text = value
                        return true
                    }
                }
                return cursor.skipValue()
            } && cursor.atEnd()
        guard read, let index, index >= 0, index < 1 << 20, let text else { return nil }
        return (Int(index), text)
    }

    /// Decodes one event-stream message. Returns nil for event types it does not know (and so ignores);
    /// throws the BedrockError an `exception` or `error` message carries, or StreamCorrupt for an event
    /// whose payload is not the JSON it should be.
    public static func decode(_ message: EventStreamMessage, requestID: String? = nil) throws(BedrockError)
        -> ConverseStreamEvent?
    {
        let messageType = message.header(":message-type")?.stringValue ?? "event"
        switch messageType {
        case "event":
            break
        case "exception":
            let type = message.header(":exception-type")?.stringValue ?? "UnknownException"
            let payload = try? JSONValue.parse(message.payload)
            let text =
                payload?["message"]?.stringValue ?? payload?["Message"]?.stringValue
                ?? String(decoding: message.payload.prefix(500), as: UTF8.self)
            var error = BedrockError(type: type, message: text, requestID: requestID)
            if let status = payload?["originalStatusCode"]?.intValue { error.httpStatus = Int(status) }
            throw error
        case "error":
            let code = message.header(":error-code")?.stringValue ?? "UnknownError"
            let text = message.header(":error-message")?.stringValue ?? "The stream reported an error"
            throw BedrockError(type: code, message: text, requestID: requestID)
        default:
            return nil
        }

        guard let eventType = message.header(":event-type")?.stringValue else { return nil }
        switch eventType {
        case "messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata":
            break
        default:
            return nil
        }
        let corrupt = { (what: String) -> BedrockError in
            var e = BedrockError.own("StreamCorrupt", "The \(eventType) event \(what)")
            e.requestID = requestID
            return e
        }
        guard let payload = try? JSONValue.parse(message.payload), payload.objectValue != nil else {
            throw corrupt("is not a JSON object")
        }
        func index() throws(BedrockError) -> Int {
            guard let i = payload["contentBlockIndex"]?.intValue, i >= 0, i < 1 << 20 else {
                throw corrupt("has no contentBlockIndex")
            }
            return Int(i)
        }
        switch eventType {
        case "messageStart":
            return .messageStart(role: payload["role"]?.stringValue ?? "assistant")
        case "contentBlockStart":
            return .contentBlockStart(index: try index(), start: payload["start"] ?? .object([:]))
        case "contentBlockDelta":
            guard let delta = payload["delta"] else { throw corrupt("has no delta") }
            return .delta(index: try index(), delta)
        case "contentBlockStop":
            return .contentBlockStop(index: try index())
        case "messageStop":
            let fields = payload["additionalModelResponseFields"]
            return .messageStop(
                stopReason: payload["stopReason"]?.stringValue ?? "end_turn",
                additionalModelResponseFields: fields?.isNull == true ? nil : fields)
        default:  // metadata
            return .metadata(usage: payload["usage"] ?? .object([:]), metrics: ConverseResponse.metrics(of: payload))
        }
    }
}

/// Converse's answer.
public struct ConverseResponse: Sendable, Equatable {
    public var message: ConverseMessage
    public var stopReason: String
    public var usage: JSONValue
    public var metrics: JSONValue?
    public var additionalModelResponseFields: JSONValue?
    public var requestID: String?

    public init(
        message: ConverseMessage, stopReason: String, usage: JSONValue, metrics: JSONValue? = nil,
        additionalModelResponseFields: JSONValue? = nil, requestID: String? = nil
    ) {
        self.message = message
        self.stopReason = stopReason
        self.usage = usage
        self.metrics = metrics
        self.additionalModelResponseFields = additionalModelResponseFields
        self.requestID = requestID
    }

    /// From Converse's JSON `{output: {message}, stopReason, usage, metrics}`.
    public init(json: JSONValue, requestID: String? = nil) throws(BedrockError) {
        guard let messageJSON = json["output"]?["message"] else {
            throw BedrockError.own(
                "InvalidResponse", "The Converse answer has no output.message", hint: "Check the backend URL")
        }
        let message: ConverseMessage
        do {
            message = try ConverseMessage(json: messageJSON)
        } catch {
            throw BedrockError.own("InvalidResponse", "The Converse answer's message is malformed: \(error.message)")
        }
        self.init(
            message: message, stopReason: json["stopReason"]?.stringValue ?? "end_turn",
            usage: json["usage"] ?? .object([:]), metrics: Self.metrics(of: json),
            additionalModelResponseFields: json["additionalModelResponseFields"], requestID: requestID)
    }
}

extension ConverseResponse {
    /// Converse's `metrics`, with what Bedrock echoes beside them folded in: the `performanceConfig` and
    /// `serviceTier` the request ran with, and the `trace` it asked for (a guardrail's assessment).
    static func metrics(of payload: JSONValue) -> JSONValue? {
        var metrics = payload["metrics"]?.objectValue
        for key in ["performanceConfig", "serviceTier", "trace"] {
            guard let value = payload[key], !value.isNull else { continue }
            var merged = metrics ?? [:]
            merged[key] = value
            metrics = merged
        }
        return metrics.map(JSONValue.object)
    }
}

/// Folds stream events into the final assistant message: text joined, toolUse input fragments parsed once at
/// the block's stop ("" -> {}), reasoning text + signature kept. Usable on a partial stream (cancel/error):
/// blocks not yet stopped are included as far as they got.
public struct StreamAssembler: Sendable {
    /// What kind each block is; the strings that grow with every delta live in the dictionaries below,
    /// where `subscript(_:default:)` appends in place (a string inside an enum payload would be copied
    /// whole on every delta, which made a long answer quadratic).
    private enum Block: Sendable {
        case text
        case toolUse(id: String, name: String, parsed: JSONValue?)
        case reasoning(signature: String?, redacted: String?)
        case other(JSONValue)
    }

    private var blocks: [Int: Block] = [:]
    private var texts: [Int: String] = [:]
    private var toolInputs: [Int: String] = [:]
    private var reasoningTexts: [Int: String] = [:]
    public private(set) var role = "assistant"
    public private(set) var stopReason: String?
    public private(set) var additionalModelResponseFields: JSONValue?
    public private(set) var usage: JSONValue?
    public private(set) var metrics: JSONValue?

    public init() {}

    public mutating func apply(_ event: ConverseStreamEvent) {
        switch event {
        case .messageStart(let role):
            self.role = role
        case .contentBlockStart(let index, let start):
            if let toolUse = start["toolUse"] {
                blocks[index] = .toolUse(
                    id: toolUse["toolUseId"]?.stringValue ?? "", name: toolUse["name"]?.stringValue ?? "", parsed: nil)
                toolInputs[index] = ""
            } else if blocks[index] == nil, !(start.objectValue?.isEmpty ?? true) {
                blocks[index] = .other(start)
            }
        case .textDelta(let index, let text):
            applyText(index: index, text: text)
        case .contentBlockDelta(let index, let delta):
            applyDelta(index: index, delta: delta)
        case .contentBlockStop(let index):
            if case .toolUse(let id, let name, _) = blocks[index] {
                blocks[index] = .toolUse(id: id, name: name, parsed: Self.parseInput(toolInputs[index] ?? ""))
            }
        case .messageStop(let stopReason, let fields):
            self.stopReason = stopReason
            additionalModelResponseFields = fields
        case .metadata(let usage, let metrics):
            self.usage = usage
            self.metrics = metrics
        }
    }

    private mutating func applyText(index: Int, text: String) {
        switch blocks[index] {
        case .text?:
            texts[index, default: ""] += text
        case nil, .other?:
            blocks[index] = .text
            texts[index] = text
        default:
            break
        }
    }

    private mutating func applyDelta(index: Int, delta: JSONValue) {
        if let text = delta["text"]?.stringValue {
            applyText(index: index, text: text)
        } else if let input = delta["toolUse"]?["input"]?.stringValue {
            if case .toolUse? = blocks[index] {
                toolInputs[index, default: ""] += input
            } else {
                blocks[index] = .toolUse(id: "", name: "", parsed: nil)
                toolInputs[index] = input
            }
        } else if let reasoning = delta["reasoningContent"] {
            var (signature, redacted) = (String?.none, String?.none)
            if case .reasoning(let s, let r)? = blocks[index] { (signature, redacted) = (s, r) }
            if let t = reasoning["text"]?.stringValue { reasoningTexts[index, default: ""] += t }
            if let s = reasoning["signature"]?.stringValue { signature = (signature ?? "") + s }
            if let r = reasoning["redactedContent"]?.stringValue { redacted = (redacted ?? "") + r }
            blocks[index] = .reasoning(signature: signature, redacted: redacted)
        }
        // Citations and unknown deltas do not change the stored message.
    }

    private func isOther(_ index: Int) -> Bool {
        if case .other = blocks[index] { return true }
        return false
    }

    private static func parseInput(_ input: String) -> JSONValue {
        let trimmed = input.trimmingWhitespaceAndNewlines()
        if trimmed.isEmpty { return .object([:]) }
        return (try? JSONValue.parse(trimmed)) ?? .object([:])
    }

    /// The message so far, blocks in index order.
    public var message: ConverseMessage {
        let content = blocks.keys.sorted().compactMap { index -> ContentBlock? in
            switch blocks[index]! {
            case .text: return .text(texts[index] ?? "")
            case .toolUse(let id, let name, let parsed):
                return .toolUse(id: id, name: name, input: parsed ?? Self.parseInput(toolInputs[index] ?? ""))
            case .reasoning(let signature, let redacted):
                let text = reasoningTexts[index] ?? ""
                if let redacted, text.isEmpty { return .redactedReasoning(redacted) }
                return .reasoning(text: text, signature: signature)
            case .other(let v): return .other(v)
            }
        }
        return ConverseMessage(role: ConverseMessage.Role(rawValue: role) ?? .assistant, content: content)
    }
}
