import Bedrock
import JSON

/// What a chat turn reports while it runs, in order, before its result. Each surface shows these its own
/// way: `chat/blockStart` and `chat/delta` notifications, ACP `session/update`s, text on a terminal.
public enum ChatEvent: Sendable, Equatable {
    /// The turn has begun; `sessionID` is its session (nil for an ephemeral chat). Always the first event.
    case started(sessionID: String?)
    /// A content block begins: Converse's ContentBlockStart (e.g. `{toolUse: {toolUseId, name}}`).
    case blockStart(index: Int, start: JSONValue)
    /// Text of a block (several adjacent text deltas may arrive merged into one).
    case text(index: Int, text: String)
    /// Any other Converse ContentBlockDelta: `{toolUse: {input}}`, `{reasoningContent: ...}`, `{citation}`.
    case delta(index: Int, delta: JSONValue)
    /// An attempt failed and another follows after a wait (throttling, a 5xx, a broken connection before
    /// the first event): so that a person sees why nothing arrives.
    case retrying(RetryNotice)
}
