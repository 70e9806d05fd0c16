import Bedrock
import JSON
import TestSupport
import Testing

/// `JSONValue.parseSmall` must either step aside (nil) or give exactly what jansson gives.
@Suite struct SmallJSONTests {
    /// Parses with both; fails if the fast path answers differently from jansson. Also checks
    /// `parseSmallObject` against jansson's object with only the members it keeps.
    static func agree(_ bytes: [UInt8]) -> JSONValue? {
        let small = JSONValue.parseSmall(bytes, maxDepth: 8)
        let full = try? JSONValue.parse(bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        if let small { #expect(small == full, "parseSmall differs from jansson on \(text)") }
        let projected = bytes.withUnsafeBytes {
            JSONValue.parseSmallObject($0, keeping: ["k00", "k11", "delta"], maxDepth: 8)
        }
        if let projected {
            let expected = full?.objectValue.map { object in
                JSONObject(object.filter { ["k00", "k11", "delta"].contains($0.key) }.map { ($0.key, $0.value) })
            }
            #expect(projected == expected, "parseSmallObject differs from jansson on \(text)")
        }
        return small
    }

    @Test(arguments: [
        #"{"contentBlockIndex":0,"delta":{"text":" tok"},"p":"abcdefghijklmnopqrstuvwxyzABCDEF"}"#,
        #"{"contentBlockIndex":12,"delta":{"text":"line\nnext \"quoted\" \\ \/ \t \b \f \r"}}"#,
        #"{"delta":{"text":"\u00e9\u4e2d\ud83d\ude00 é 中 😀"},"contentBlockIndex":3}"#,
        #"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"query\": \"x\"}"}}}"#,
        #"{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"abc=="}}}"#,
        #" { "a" : [ 1 , -2 , true , false , null , "" , { } , [ ] ] } "#,
        #"{"max":9223372036854775807,"min":-9223372036854775808,"zero":-0}"#,
        "{}", "[]", "\"top\"", "0", "true",
    ])
    func commonShapesTakeTheFastPath(text: String) {
        #expect(Self.agree(Array(text.utf8)) != nil)
    }

    @Test func aStreamedDeltaKeepsOnlyWhatIsAskedFor() throws {
        let payload = Array(
            #"{"contentBlockIndex":2,"p":"a\\b\u00e9\ud83d\ude00","delta":{"text":"x"},"q":[1,{"r":null}]}"#.utf8)
        let object = try #require(
            payload.withUnsafeBytes { JSONValue.parseSmallObject($0, keeping: ["contentBlockIndex", "delta"]) })
        #expect(object == ["contentBlockIndex": 2, "delta": ["text": "x"]])
        // A member that is skipped must still be valid JSON.
        for broken in [#"{"delta":{},"p":"\x"}"#, #"{"delta":{},"p":"\ud800"}"#, #"{"delta":{},"p":[1,]}"#] {
            #expect(Array(broken.utf8).withUnsafeBytes { JSONValue.parseSmallObject($0, keeping: ["delta"]) } == nil)
        }
    }

    /// Everything here is either invalid (jansson says so) or something the fast path leaves to jansson.
    @Test(arguments: [
        #"{"a":1.5}"#, #"{"a":1e3}"#, #"{"a":01}"#, #"{"a":9223372036854775808}"#, #"{"a":-9223372036854775809}"#,
        #"{"a":"\u0000"}"#, #"{"a":"\ud800"}"#, #"{"a":"\udc00\ud800"}"#, #"{"a":"\x"}"#, #"{"a":"\u12G4"}"#,
        #"{"a":1,"a":2}"#, #"{"a":1,}"#, #"{"a" 1}"#, #"{a:1}"#, #"[1,]"#, #"{"a":1} x"#, "{\"a\":\"tab\tin\"}",
        #"{"a":tru}"#, #"{"a":-}"#, #"{"a":"unterminated}"#, "", " ", #"{"a":[[[[[[[[[1]]]]]]]]]}"#,
    ])
    func everythingElseIsLeftToJansson(text: String) {
        #expect(Self.agree(Array(text.utf8)) == nil)
    }

    @Test func invalidUTF8IsLeftToJansson() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22]] {
            #expect(Self.agree(bytes) == nil)
        }
    }

    static let structural = Array(#"{}[]",:\u0e-1"#.utf8)

    /// Generated documents and byte-level mutations of them: whenever the fast path answers, it
    /// answers like jansson.
    @Test func generatedAndMutatedDocumentsAgreeWithJansson() {
        var rng = SeededGenerator(seed: 42)
        var answered = 0
        for _ in 0..<RandomInputTests.iterations * 5 {
            let document = Array(RandomInputTests.randomJSON(&rng).jsonString.utf8)
            if Self.agree(document) != nil { answered += 1 }
            var mutated = document
            for _ in 0..<1 + rng.below(3) where !mutated.isEmpty {
                let position = rng.below(mutated.count)
                switch rng.below(3) {
                case 0: mutated[position] = UInt8(truncatingIfNeeded: rng.next())
                case 1: mutated.remove(at: position)
                default: mutated.insert(Self.structural[rng.below(Self.structural.count)], at: position)
                }
            }
            _ = Self.agree(mutated)
        }
        // Most generated documents have no doubles, so most should take the fast path.
        #expect(answered > RandomInputTests.iterations)
    }

    /// Streamed delta payloads, generated and mutated: the event decoded from a view of the bytes (the
    /// jansson-free path) is the event decoded from a copy (jansson), or the same error.
    @Test func deltaEventsDecodeAlikeFromViewsAndCopies() throws {
        var rng = SeededGenerator(seed: 7)
        let pieces = [" tok", "é", "\\n", "\\\"", "\\u00e9", "\\ud83d\\ude00", "😀", "\\t", "a", "\\/"]
        for _ in 0..<RandomInputTests.iterations * 2 {
            let text = (0..<rng.below(6)).map { _ in pieces[rng.below(pieces.count)] }.joined()
            var members = [
                #""contentBlockIndex":\#(rng.below(4))"#, #""delta":{"text":"\#(text)"}"#,
                #""p":"\#(String(repeating: "x", count: rng.below(40)))""#,
            ]
            if rng.below(4) == 0 { members.append(#""extra":[1,{"a":null}]"#) }
            members.shuffle(using: &rng)
            var payload = Array(("{" + members.joined(separator: rng.below(2) == 0 ? "," : " , ") + "}").utf8)
            if rng.below(3) == 0, !payload.isEmpty {
                payload[rng.below(payload.count)] = Self.structural[rng.below(Self.structural.count)]
            }
            let message = EventStreamMessage(
                headers: [
                    EventStreamHeader(name: ":message-type", value: .string("event")),
                    EventStreamHeader(name: ":event-type", value: .string("contentBlockDelta")),
                ], payload: payload)
            let copied = Result { () throws(BedrockError) in try ConverseStreamEvent.decode(message) }
            var viewed: Result<ConverseStreamEvent?, BedrockError>?
            var decoder = EventStreamDecoder()
            _ = try EventStreamEncoder.encode(message).withUnsafeBytes { raw in
                try decoder.feed(raw) { view in
                    viewed = Result { () throws(BedrockError) in try ConverseStreamEvent.decode(view) }
                    return true
                }
            }
            #expect(viewed.map { "\($0)" } == "\(copied)", "\(String(decoding: payload, as: UTF8.self))")
        }
    }
}
