import Testing

@testable import JSON

@Suite struct JSONValueTests {
    @Test(arguments: [
        ("0.7", "0.7"), ("[0.1,0.2,0.7]", "[0.1,0.2,0.7]"), ("100.0", "100.0"), ("1e300", "1e300"),
        ("-0.5", "-0.5"), ("12345.678", "12345.678"), ("3", "3"), ("-9223372036854775808", "-9223372036854775808"),
        (
            "{\"temperature\":0.7,\"topP\":0.9,\"maxTokens\":512}",
            "{\"temperature\":0.7,\"topP\":0.9,\"maxTokens\":512}"
        ),
    ])
    func numbersRoundTrip(input: String, expected: String) throws {
        let value = try JSONValue.parse(input)
        #expect(value.jsonString == expected)
        #expect(try JSONValue.parse(value.jsonString) == value)
    }

    @Test func integersAndDoublesStayApart() throws {
        #expect(try JSONValue.parse("1") == .int(1))
        #expect(try JSONValue.parse("1.0") == .double(1.0))
        #expect(JSONValue.int(1) != JSONValue.double(1))
    }

    @Test func everyDoubleRoundTrips() throws {
        for value in [
            0.1 + 0.2, 1.0 / 3.0, Double.leastNonzeroMagnitude, 1.7976931348623157e308, 123456789012345680.0, 0.000001,
        ] {
            let text = JSONValue.array([.double(value), .double(0.7)]).jsonString
            #expect(try JSONValue.parse(text) == .array([.double(value), .double(0.7)]), "\(text)")
        }
    }

    @Test func objectKeyOrderIsKept() throws {
        let text = "{\"z\":1,\"a\":{\"y\":true,\"b\":null},\"m\":\"x\"}"
        let value = try JSONValue.parse(text)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
        #expect(value.jsonString == text)
    }

    @Test func stringsWithEscapesUnicodeAndNul() throws {
        let value = JSONValue.string("a\"b\\c\n\u{0}é😀")
        #expect(try JSONValue.parse(value.jsonString) == value)
    }

    @Test(arguments: [
        ("\"\u{FF}\"", 1), ("{\"a\":1,\n\"b\": 99999999999999999999}", 2), ("[1,2", 1), ("{\"a\" 1}", 1), ("", 1),
        ("1 2", 1),
    ])
    func invalidInputReportsWhere(input: String, line: Int) {
        var bytes = Array(input.utf8)
        if input == "\"\u{FF}\"" { bytes = [0x22, 0xFF, 0x22] }
        #expect(throws: JSONError.self) { try JSONValue.parse(bytes) }
        do {
            _ = try JSONValue.parse(bytes)
        } catch {
            #expect(error.line == line)
            #expect(!error.message.isEmpty)
        }
    }

    @Test func depthLimit() throws {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONError.self) { try JSONValue.parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(try JSONValue.parse(fine).arrayValue?.count == 1)
    }

    @Test func nonFiniteDoublesBecomeNull() {
        #expect(JSONValue.array([.double(.nan), .double(.infinity)]).jsonString == "[null,null]")
    }

    @Test func accessors() throws {
        let value: JSONValue = ["a": [1, 2.5, "x"], "b": true, "c": nil]
        #expect(value["a"]?[0]?.intValue == 1)
        #expect(value["a"]?[1]?.doubleValue == 2.5)
        #expect(value["a"]?[2]?.stringValue == "x")
        #expect(value["b"]?.boolValue == true)
        #expect(value["c"]?.isNull == true)
        #expect(value["missing"] == nil)
        var object = value.objectValue!
        object["a"] = nil
        #expect(object.keys == ["b", "c"])
    }
}

@Suite struct JSONObjectTests {
    /// Small objects scan, large ones index; both must behave the same.
    @Test(arguments: [3, 16, 17, 40])
    func setGetRemoveKeepOrder(count: Int) {
        var object = JSONObject()
        for index in 0..<count { object["k\(index)"] = .int(Int64(index)) }
        #expect(object.count == count)
        #expect(object.keys == (0..<count).map { "k\($0)" })
        object["k1"] = "changed"
        #expect(object.keys[1] == "k1")
        #expect(object["k1"] == "changed")
        object["k0"] = nil
        #expect(object["k0"] == nil)
        #expect(object.keys.first == "k1")
        #expect(object["k\(count - 1)"] == .int(Int64(count - 1)))
        object["new"] = true
        #expect(object.keys.last == "new")
        #expect(object["new"] == true)
        #expect(object.count == count)
    }

    @Test func equalityAndHashingFollowOrder() {
        let a: JSONObject = ["x": 1, "y": 2]
        let b: JSONObject = ["x": 1, "y": 2]
        let c: JSONObject = ["y": 2, "x": 1]
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != c)
        #expect(Set([JSONValue.object(a), .object(b)]).count == 1)
    }
}
