import JSON
import JSONRPC
import TestSupport
import Testing

@Suite struct ContentLengthFramerTests {
    static func frame(_ body: String, header: String = "Content-Length") -> [UInt8] {
        Array("\(header): \(body.utf8.count)\r\n\r\n\(body)".utf8)
    }

    static let bodies = [#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#, "{}", #"{"a":"é😀\r\n"}"#]

    @Test func everySplitYieldsTheSameFrames() {
        let input = Self.bodies.flatMap { Self.frame($0) }
        let expected = Self.bodies.map { FrameEvent.frame(Array($0.utf8)) }
        for chunks in everySplit(of: input) {
            #expect(frameEvents(ContentLengthFramer.self, chunks) == expected)
        }
    }

    @Test(arguments: ["content-length", "CONTENT-LENGTH", "Content-length"])
    func headerNamesInAnyCase(name: String) {
        #expect(frameEvents(ContentLengthFramer.self, [Self.frame("{}", header: name)]) == [.frame(Array("{}".utf8))])
    }

    @Test func contentTypeAndUnknownHeadersAndBareNewlines() {
        let input =
            "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: 2\r\nX-Other: 1\r\n\r\n{}"
            + "Content-Length: 2\n\n[]"
        #expect(
            frameEvents(ContentLengthFramer.self, [Array(input.utf8)]) == [
                .frame(Array("{}".utf8)), .frame(Array("[]".utf8)),
            ])
    }

    @Test(arguments: [
        "Content-Type: x\r\n\r\n", "Content-Length: abc\r\n\r\n", "Content-Length: -5\r\n\r\n",
        "Content-Length: 99999999999999999999999\r\n\r\n", "garbage line without colon\r\n\r\n",
        String(repeating: "X-Long: aaaaaaaaaaaaaaaa\r\n", count: 600) + "\r\n",
    ])
    func badHeadersAreReportedAndTheNextFrameStillComesOut(bad: String) {
        let good = Self.frame(#"{"ok":true}"#)
        for chunks in [[Array(bad.utf8) + good], Array(bad.utf8 + good).map { [$0] }] {
            let events = frameEvents(ContentLengthFramer.self, chunks)
            #expect(events.count == 2, "\(bad.prefix(40)): \(events)")
            if case .error = events.first {} else { Issue.record("expected an error first, got \(events)") }
            #expect(events.last == .frame(Array(#"{"ok":true}"#.utf8)))
        }
    }

    @Test func tooLargeFrameIsSkippedWithoutBuffering() {
        var framer = ContentLengthFramer(maxMessageBytes: 1024)
        framer.feed(Array("Content-Length: 1073741824\r\n\r\n".utf8))
        #expect(framer.drain() == [.error(.tooLarge)])
        let chunk = [UInt8](repeating: 0x41, count: 1 << 20)
        for _ in 0..<64 {
            framer.feed(chunk)
            #expect(framer.drain().isEmpty)
            #expect(framer.bufferedByteCount <= 2048)
        }
        // A small oversized frame followed by a good one.
        var small = ContentLengthFramer(maxMessageBytes: 4)
        small.feed(Self.frame("0123456789") + Self.frame("{}"))
        #expect(small.drain() == [.error(.tooLarge), .frame(Array("{}".utf8))])
    }

    @Test func truncatedInputIsAPartialFrame() {
        var framer = ContentLengthFramer()
        framer.feed(Array("Content-Length: 10\r\n\r\n{\"a\"".utf8))
        #expect(framer.drain().isEmpty)
        #expect(framer.hasPartialFrame)
    }

    @Test func encodeMatchesTheWireForm() {
        #expect(ContentLengthFramer.encode(Array("{}".utf8)) == Array("Content-Length: 2\r\n\r\n{}".utf8))
    }
}

@Suite struct NDJSONFramerTests {
    @Test func everySplitYieldsTheSameFrames() {
        let input = Array("{\"id\":1}\n\n  \r\n[1,2]\r\n\"é\"\n".utf8)
        let expected: [FrameEvent] = [
            .frame(Array("{\"id\":1}".utf8)), .frame(Array("[1,2]".utf8)), .frame(Array("\"é\"".utf8)),
        ]
        for chunks in everySplit(of: input) {
            #expect(frameEvents(NDJSONFramer.self, chunks) == expected)
        }
    }

    @Test func tooLongLineIsDiscardedAsItStreams() {
        var framer = NDJSONFramer(maxMessageBytes: 100)
        let chunk = [UInt8](repeating: 0x41, count: 4096)
        var events: [FrameEvent] = []
        for _ in 0..<100 {
            framer.feed(chunk)
            events += framer.drain()
            #expect(framer.bufferedByteCount <= 4096 + 100)
        }
        framer.feed(Array("tail\n{}\n".utf8))
        events += framer.drain()
        #expect(events == [.error(.tooLarge), .frame(Array("{}".utf8))])
    }

    @Test func encodeAppendsNewline() {
        #expect(NDJSONFramer.encode(Array("{}".utf8)) == Array("{}\n".utf8))
    }
}
