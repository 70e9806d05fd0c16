import JSON
import JSONRPC
import TestSupport
import Testing

@Suite struct JSONScannerTests {
    static func elements(_ text: String) -> [String]? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { raw in
            JSONScanner.arrayElements(raw)?.map { String(decoding: bytes[$0], as: UTF8.self) }
        }
    }

    static func member(_ text: String, _ key: String) -> String? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { raw in
            JSONScanner.memberValue(raw, key: key).map { String(decoding: bytes[$0], as: UTF8.self) }
        }
    }

    @Test func arraysSplitIntoTheirElements() {
        #expect(Self.elements(" [ ] ") == [])
        #expect(
            Self.elements(#"[1, "a,]", {"b":[1,2]} ,[[]],null]"#) == ["1", #""a,]""#, #"{"b":[1,2]}"#, "[[]]", "null"])
        #expect(Self.elements(#"["\"]", "\\"]"#) == [#""\"]""#, #""\\""#])
        #expect(Self.elements(#"{"a":1}"#) == nil)
        #expect(Self.elements("[1,]") == nil)
        #expect(Self.elements("[1 2]") == nil)
        #expect(Self.elements("[1] x") == nil)
        #expect(Self.elements(#"["open]"#) == nil)
    }

    @Test func membersAreFoundAtTheTopLevelOnly() {
        #expect(Self.member(#"{"jsonrpc":"2.0","id":1e2,"method":"m"}"#, "id") == "1e2")
        #expect(Self.member(#"{"params":{"id":5},"id":"a\/b"}"#, "id") == #""a\/b""#)
        #expect(Self.member(#"{"params":{"id":5}}"#, "id") == nil)
        #expect(Self.member(#" { "id" : -0 , "x" : [ "id" ] } "#, "id") == "-0")
        // The last of duplicate keys, as jansson keeps it.
        #expect(Self.member(#"{"id":1,"id":2}"#, "id") == "2")
        #expect(Self.member("[1]", "id") == nil)
    }

    /// Against jansson on generated arrays: the scanner's elements are jansson's elements.
    @Test func agreesWithJanssonOnGeneratedArrays() throws {
        var random = SeededGenerator(seed: 12)
        let atoms = ["1", "-2.5e3", "true", "null", #""s""#, #""q\"u""#, "[]", "{}", #"{"k":[1,{"x":"]"}]}"#]
        for _ in 0..<500 {
            let count = random.below(6)
            let items = (0..<count).map { _ in atoms[random.below(atoms.count)] }
            let text = "[" + items.joined(separator: random.next() % 2 == 0 ? "," : " ,\n ") + "]"
            let parsed = try JSONValue.parse(text)
            let spans = try #require(Self.elements(text))
            #expect(spans.count == parsed.arrayValue?.count)
            for (span, element) in zip(spans, parsed.arrayValue ?? []) {
                #expect(try JSONValue.parse(span) == element)
            }
        }
    }
}
