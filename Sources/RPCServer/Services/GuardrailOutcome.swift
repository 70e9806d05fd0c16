import Bedrock
import JSON

/// Why a guardrail or content filter, not the model, ended an answer: what the assessment says, and a hint
/// that says where to go (the guardrail's owners, not the model's).
public struct GuardrailOutcome: Sendable, Equatable {
    /// The guardrail's id or ARN, when the request named one.
    public var guardrail: String?
    public var summary: String
    public var hint: String

    /// The outcome of a turn that stopped with `guardrail_intervened` or `content_filtered`; nil otherwise.
    /// `metrics` may hold the `trace` Bedrock sent (with the guardrail's trace enabled).
    init?(stopReason: String, metrics: JSONValue, request: ConverseRequest) {
        let guardrail = request.passthrough["guardrailConfig"]?["guardrailIdentifier"]?.stringValue
        switch stopReason {
        case "guardrail_intervened":
            let findings = Self.findings(metrics["trace"]?["guardrail"])
            self.guardrail = guardrail
            summary =
                findings.isEmpty
                ? "the guardrail\(guardrail.map { " \($0)" } ?? "") intervened"
                : "the guardrail\(guardrail.map { " \($0)" } ?? "") intervened: " + findings.joined(separator: "; ")
            hint =
                "Your organisation's guardrail, not the model, blocked this; the answer is the guardrail's message. "
                + (findings.isEmpty
                    ? "Add a trace to see which policy (--guardrail-trace, or trace: enabled in guardrailConfig). "
                    : "")
                + "Rephrase, or ask the guardrail's owners about the policy."
        case "content_filtered":
            self.guardrail = guardrail
            summary = "the answer was stopped by a content filter"
            hint = "A content filter, not the model's own judgement, stopped the answer: rephrase the request."
        default:
            return nil
        }
    }

    /// "content filter VIOLENCE (HIGH, BLOCKED)", "denied topic Investments (BLOCKED)", ... from a guardrail
    /// trace's input and output assessments.
    static func findings(_ trace: JSONValue?) -> [String] {
        var assessments: [JSONValue] = []
        for (_, value) in trace?["inputAssessment"]?.objectValue ?? [:] { assessments.append(value) }
        for (_, list) in trace?["outputAssessments"]?.objectValue ?? [:] { assessments += list.arrayValue ?? [] }
        var found: [String] = []
        for assessment in assessments {
            for filter in assessment["contentPolicy"]?["filters"]?.arrayValue ?? [] {
                found.append(
                    "content filter \(filter["type"]?.stringValue ?? "?") ("
                        + [filter["confidence"]?.stringValue, filter["action"]?.stringValue].compactMap { $0 }
                        .joined(separator: ", ") + ")")
            }
            for topic in assessment["topicPolicy"]?["topics"]?.arrayValue ?? [] {
                found.append(
                    "denied topic \(topic["name"]?.stringValue ?? "?") (\(topic["action"]?.stringValue ?? "?"))")
            }
            for word in (assessment["wordPolicy"]?["customWords"]?.arrayValue ?? [])
                + (assessment["wordPolicy"]?["managedWordLists"]?.arrayValue ?? [])
            {
                found.append(
                    "word \(word["match"]?.stringValue?.quoted() ?? "?") (\(word["action"]?.stringValue ?? "?"))")
            }
            for entity in assessment["sensitiveInformationPolicy"]?["piiEntities"]?.arrayValue ?? [] {
                found.append(
                    "sensitive information \(entity["type"]?.stringValue ?? "?") (\(entity["action"]?.stringValue ?? "?"))"
                )
            }
        }
        return found
    }

    /// `{guardrail?, summary, hint}`.
    public var json: JSONValue {
        var object: JSONObject = ["summary": .string(summary), "hint": .string(hint)]
        if let guardrail { object["guardrail"] = .string(guardrail) }
        return .object(object)
    }
}
