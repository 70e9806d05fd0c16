import TestSupport
import Testing

@testable import JSON

/// Long strings are escaped on their own and spliced into jansson's output; the text must be, byte for
/// byte, what jansson writes for the whole tree.
@Suite struct SpliceTests {
    /// Characters that jansson escapes or that take several UTF-8 bytes, so slices are cut beside them.
    static let alphabet: [String] = [
        "a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\r", "\u{0}", "\u{1}", "\u{1F}", "\u{7F}", "é", "€", "𝄞", "😀",
        "\u{2028}", "字",
    ]

    static func string(_ rng: inout SeededGenerator, length: Int) -> String {
        var text = ""
        for _ in 0..<length { text += alphabet[rng.below(alphabet.count)] }
        return text
    }

    static func document(_ rng: inout SeededGenerator, depth: Int = 0) -> JSONValue {
        switch depth > 3 ? rng.below(4) : rng.below(7) {
        case 0: return .int(Int64(rng.below(2000)) - 1000)
        case 1: return .double(Double(rng.below(10_000)) / 7)
        case 2: return rng.below(2) == 0 ? .null : .bool(rng.below(2) == 0)
        case 3: return .string(string(&rng, length: rng.below(4) == 0 ? 20_000 + rng.below(30_000) : rng.below(40)))
        case 4: return .array((0..<rng.below(5)).map { _ in document(&rng, depth: depth + 1) })
        default:
            return .object(
                JSONObject((0..<rng.below(5)).map { ("k\($0)\"é\n", document(&rng, depth: depth + 1)) }))
        }
    }

    @Test(arguments: [false, true])
    func splicedTextIsJanssonsText(pretty: Bool) throws {
        var rng = SeededGenerator(seed: pretty ? 11 : 10)
        for round in 0..<60 {
            let value = Self.document(&rng)
            let plain = value.serialized(pretty: pretty, spliceAbove: .max)
            for threshold in [1, 64, 16 << 10] {
                let spliced = value.serialized(pretty: pretty, spliceAbove: threshold, nonce: UInt64(round))
                #expect(spliced == plain, "round \(round), threshold \(threshold)")
            }
            #expect(try JSONValue.parse(plain) == value)
        }
    }

    /// A multi-byte character straddling each slice boundary, and a string of exactly one slice.
    @Test(arguments: [16 << 10 - 1, 16 << 10, 16 << 10 + 1, 32 << 10 - 2])
    func slicesAreCutBetweenCharacters(prefix: Int) throws {
        let text = String(repeating: "x", count: prefix) + "😀€\"\n" + String(repeating: "é", count: 20_000)
        let value: JSONValue = ["text": .string(text), "n": 1]
        let plain = value.serialized(pretty: false, spliceAbove: .max)
        #expect(value.serialized(pretty: false, spliceAbove: 1, nonce: 7) == plain)
        #expect(value.serialized() == plain)
        // The slices themselves, not the fallback to the plain path, give that text.
        var escaped: [UInt8] = []
        #expect(JSONValue.appendEscaped(text, to: &escaped))
        #expect(
            escaped
                == Array(
                    JSONValue.string(text).serialized(pretty: false, spliceAbove: .max).dropFirst().dropLast()
                ))
    }

    /// A string that spells out a placeholder is written, like everything else, as jansson writes it.
    @Test func aStringSpellingAPlaceholderFallsBackToThePlainPath() throws {
        let long = String(repeating: "long ", count: 20_000)
        for spelled in ["contenox-splice-2a-0", "contenox-splice-2a-1"] {
            let value: JSONValue = [.string(long), .string(spelled), .string(long)]
            let plain = value.serialized(pretty: false, spliceAbove: .max, nonce: 0x2a)
            #expect(value.serialized(pretty: false, spliceAbove: 64 << 10, nonce: 0x2a) == plain)
            #expect(try JSONValue.parse(plain) == value)
        }
    }
}
