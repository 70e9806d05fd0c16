import JSON
import JSONRPC
import Testing

@Suite struct IncomingTests {
    static func decode(_ text: String) -> Incoming { Incoming.decode(Array(text.utf8)) }

    @Test func parseErrorHasNoId() {
        guard case .parseError(let error) = Self.decode("{not json") else {
            Issue.record("expected a parse error")
            return
        }
        #expect(error.code == .parseError)
    }

    @Test(arguments: [
        (#"{"jsonrpc":"2.0","id":7,"method":"a"}"#, JSONValue.int(7)),
        (#"{"jsonrpc":"2.0","id":"x-1","method":"a"}"#, JSONValue.string("x-1")),
        (#"{"jsonrpc":"2.0","id":null,"method":"a"}"#, JSONValue.null),
    ])
    func idsAreKeptExactly(text: String, id: JSONValue) {
        guard case .single(.success(.request(let got, "a", nil))) = Self.decode(text) else {
            Issue.record("not a request: \(text)")
            return
        }
        #expect(got == id)
    }

    @Test func escapedSlashInMethodIsPlainSlash() {
        let incoming = Self.decode(#"{"jsonrpc":"2.0","id":1,"method":"chat\/stream","params":[]}"#)
        guard case .single(.success(.request(_, let method, let params))) = incoming else {
            Issue.record("not a request")
            return
        }
        #expect(method == "chat/stream")
        #expect(params == .array([]))
    }

    @Test(arguments: [
        (#"[1]"#, JSONValue.null), (#"{"id":3,"method":"a"}"#, JSONValue.int(3)),
        (#"{"jsonrpc":"1.0","id":3,"method":"a"}"#, JSONValue.int(3)),
        (#"{"jsonrpc":"2.0","id":3,"method":5}"#, JSONValue.int(3)),
        (#"{"jsonrpc":"2.0","id":{"a":1},"method":"a"}"#, JSONValue.null),
        (#"{"jsonrpc":"2.0","id":4}"#, JSONValue.int(4)), ("[]", JSONValue.null), ("3", JSONValue.null),
    ])
    func invalidRequestsKeepTheIdTheyCouldRead(text: String, id: JSONValue) {
        let incoming = Self.decode(text)
        let result: Result<Message, InvalidMessage>
        switch incoming {
        case .single(let r): result = r
        case .batch(let items) where items.count == 1: result = items[0]
        default:
            Issue.record("unexpected \(incoming)")
            return
        }
        guard case .failure(let invalid) = result else {
            Issue.record("expected invalid: \(text)")
            return
        }
        #expect(invalid.error.code == .invalidRequest)
        #expect(invalid.id == id)
    }

    @Test func batchDecodesEachElement() {
        let incoming = Self.decode(
            #"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"n"},{"foo":1},{"jsonrpc":"2.0","id":9,"result":null}]"#
        )
        guard case .batch(let items) = incoming, items.count == 4 else {
            Issue.record("expected a batch of 4")
            return
        }
        #expect(items[0] == .success(.request(id: 1, method: "a", params: nil)))
        #expect(items[1] == .success(.notification(method: "n", params: nil)))
        if case .success = items[2] { Issue.record("an object without jsonrpc must be invalid") }
        #expect(items[3] == .success(.response(id: 9, result: .success(.null))))
    }

    @Test func messageEncodingIsExact() {
        #expect(
            Message.response(id: 1, result: .success(.null)).json.jsonString
                == #"{"jsonrpc":"2.0","id":1,"result":null}"#)
        #expect(
            Message.response(id: "a", result: .failure(.requestCancelled())).json.jsonString
                == #"{"jsonrpc":"2.0","id":"a","error":{"code":-32800,"message":"request cancelled"}}"#)
        #expect(
            Message.notification(method: "chat/delta", params: ["x": 1]).json.jsonString
                == #"{"jsonrpc":"2.0","method":"chat/delta","params":{"x":1}}"#)
    }
}

@Suite struct ParamsTests {
    @Test(arguments: [nil, JSONValue.null, JSONValue.object([:]), JSONValue.array([])])
    func emptyFormsMeanNoParams(raw: JSONValue?) throws {
        #expect(try Params(raw).isEmpty)
    }

    @Test(arguments: [JSONValue.array([1]), JSONValue.string("x"), JSONValue.int(3)])
    func otherShapesAreInvalidParams(raw: JSONValue) {
        #expect(throws: ResponseError.self) { try Params(raw) }
    }

    @Test func gettersNameTheField() throws {
        let params = Params(["name": 5, "ok": true, "n": 3.0])
        do {
            _ = try params.string("name")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidParams)
            #expect(error.message.contains("'name'"))
            #expect(error.message.contains("string"))
        }
        do {
            _ = try params.string("missing")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("'missing'"))
        }
        #expect(try params.optionalBool("ok") == true)
        #expect(try params.optionalInt("n") == 3)
        #expect(try params.optionalString("absent") == nil)
    }
}
