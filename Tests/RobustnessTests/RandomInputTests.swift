import Foundation
import JSON
import JSONRPC
import TestSupport
import Testing

@testable import Bedrock

/// Seeded random and mutated inputs for every parser that reads bytes from outside: the framers, JSON,
/// the event-stream decoder and the AWS config files. Each run is the same (the seeds are fixed);
/// CONTENOX_FUZZ_ITERATIONS raises the count for a longer run by hand.
@Suite struct RandomInputTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["CONTENOX_FUZZ_ITERATIONS"] ?? "") ?? 2000

    static func chunks(_ input: [UInt8], _ rng: inout SeededGenerator) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var index = 0
        while index < input.count {
            let size = 1 + rng.below(64)
            result.append(Array(input[index..<min(input.count, index + size)]))
            index += size
        }
        return result
    }

    static func randomJSON(_ rng: inout SeededGenerator, depth: Int = 0) -> JSONValue {
        switch rng.below(depth > 4 ? 5 : 7) {
        case 0: return .null
        case 1: return .bool(rng.below(2) == 0)
        case 2: return .int(Int64(bitPattern: rng.next()))
        case 3:
            let double = Double(bitPattern: rng.next())
            return double.isFinite ? .double(double) : .double(Double(rng.below(1000)) / 7)
        case 4:
            let alphabet = Array("aé\"\\\n\t😀 {}[]:,\u{0}\u{1F}z")
            return .string(String((0..<rng.below(12)).map { _ in alphabet[rng.below(alphabet.count)] }))
        case 5: return .array((0..<rng.below(5)).map { _ in randomJSON(&rng, depth: depth + 1) })
        default:
            var object = JSONObject()
            for index in 0..<rng.below(5) { object["k\(index)\(rng.below(3))"] = randomJSON(&rng, depth: depth + 1) }
            return .object(object)
        }
    }

    @Test func jsonRoundTripsEveryGeneratedValue() throws {
        var rng = SeededGenerator(seed: 1)
        for _ in 0..<Self.iterations {
            let value = Self.randomJSON(&rng)
            let text = value.serialized()
            #expect(try JSONValue.parse(text) == value, "\(String(decoding: text, as: UTF8.self))")
        }
    }

    @Test func jsonParserRejectsGarbageWithoutCrashing() {
        var rng = SeededGenerator(seed: 2)
        let valid = Array(
            #"{"jsonrpc":"2.0","id":1,"method":"chat/stream","params":{"prompt":"hé","n":[1,2.5,null]}}"#.utf8)
        for _ in 0..<Self.iterations * 4 {
            var input = valid
            for _ in 0...rng.below(4) {
                switch rng.below(3) {
                case 0: input[rng.below(input.count)] = UInt8(truncatingIfNeeded: rng.next())
                case 1: input.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.below(input.count))
                default: if input.count > 1 { input.remove(at: rng.below(input.count)) }
                }
            }
            if let value = try? JSONValue.parse(input) {
                #expect((try? JSONValue.parse(value.serialized())) == value)
            }
            _ = Incoming.decode(input)
        }
        for length in [1, 10, 100, 1000] {
            for _ in 0..<20 { _ = try? JSONValue.parse(rng.bytes(length)) }
        }
    }

    @Test func framersSurviveGarbageAndStayBounded() {
        var rng = SeededGenerator(seed: 3)
        let limit = 4096
        for _ in 0..<Self.iterations {
            var input: [UInt8] = []
            for _ in 0..<(1 + rng.below(6)) {
                switch rng.below(4) {
                case 0: input += rng.bytes(rng.below(300))
                case 1: input += Array("Content-Length: \(rng.below(10_000))\r\n\r\n".utf8) + rng.bytes(rng.below(200))
                case 2: input += ContentLengthFramer.encode(Array(#"{"a":1}"#.utf8))
                default: input += Array("\n{\"x\":\(rng.below(99))}\n".utf8)
                }
            }
            var lsp = ContentLengthFramer(maxMessageBytes: limit)
            var ndjson = NDJSONFramer(maxMessageBytes: limit)
            for chunk in Self.chunks(input, &rng) {
                lsp.feed(chunk)
                ndjson.feed(chunk)
                for case .frame(let body) in lsp.drain() { #expect(body.count <= limit) }
                for case .frame(let body) in ndjson.drain() { #expect(body.count <= limit) }
                #expect(lsp.bufferedByteCount <= limit + ContentLengthFramer.maxHeaderBytes + 64)
                #expect(ndjson.bufferedByteCount <= limit + 64)
            }
        }
    }

    @Test func framersFindEveryValidFrameAfterGarbage() {
        var rng = SeededGenerator(seed: 4)
        for _ in 0..<Self.iterations {
            let body = Array("{\"id\":\(rng.below(1000))}".utf8)
            // Garbage without a newline or a colon-line that could look like a header, then a good frame.
            let garbage = rng.bytes(rng.below(200)).map { $0 == 10 || $0 == 13 || $0 == 58 ? 32 : $0 }
            var framer = ContentLengthFramer(maxMessageBytes: 4096)
            for chunk in Self.chunks(garbage + Array("\r\n\r\n".utf8) + ContentLengthFramer.encode(body), &rng) {
                framer.feed(chunk)
            }
            let frames = framer.drain().compactMap { event -> [UInt8]? in
                if case .frame(let frame) = event { return frame }
                return nil
            }
            #expect(frames.last == body)
        }
    }

    @Test func eventStreamDecoderRejectsEveryCorruptionAndNeverCrashes() {
        var rng = SeededGenerator(seed: 5)
        let message = EventStreamMessage(
            headers: [
                .init(name: ":event-type", value: .string("contentBlockDelta")),
                .init(name: ":message-type", value: .string("event")), .init(name: "n", value: .int32(7)),
            ], payload: Array(#"{"contentBlockIndex":0,"delta":{"text":"hi"},"p":"abc"}"#.utf8))
        let stream = EventStreamEncoder.encode(message) + EventStreamEncoder.encode(message)
        for _ in 0..<Self.iterations * 2 {
            // Any single flipped bit is caught by one of the two CRCs.
            var flipped = stream
            let bit = rng.below(stream.count * 8)
            flipped[bit / 8] ^= UInt8(1 << (bit % 8))
            var decoder = EventStreamDecoder()
            var failed = false
            for chunk in Self.chunks(flipped, &rng) {
                do {
                    _ = try chunk.withUnsafeBytes { try decoder.feed($0) }
                } catch {
                    failed = true
                    break
                }
            }
            #expect(failed || decoder.hasPartialMessage, "bit \(bit) went unnoticed")
            // Random bytes: an error or a partial message, never a crash or a bogus message.
            var random = EventStreamDecoder()
            let garbage = rng.bytes(rng.below(600))
            if let messages = try? garbage.withUnsafeBytes({ try random.feed($0) }) {
                #expect(messages.isEmpty)
            }
        }
    }

    @Test func awsConfigParserTakesAnything() {
        var rng = SeededGenerator(seed: 6)
        let pieces = [
            "[default]\n", "[profile dev]\n", "aws_access_key_id = A\n", "region=us-east-1 ; c\n", "# c\n",
            "[services x]\n", "  nested = 1\n", "=\n", "[", "]\n", "key\n", "s3 =\n", "\u{0}", "é=ü\n",
        ]
        for _ in 0..<Self.iterations {
            var text = ""
            for _ in 0..<rng.below(20) { text += pieces[rng.below(pieces.count)] }
            text += String(decoding: rng.bytes(rng.below(40)), as: UTF8.self)
            _ = AWSConfigFile(parsing: text)
        }
        let parsed = AWSConfigFile(parsing: "[profile dev]\naws_access_key_id = AKID\nregion = eu-west-1 # note\n")
        #expect(parsed.sections["profile dev"]?["aws_access_key_id"] == "AKID")
    }
}

/// The libFuzzer corpus and every crash it found, replayed through the fuzz entry point in the normal
/// build (Fuzz/FuzzParsers without -DFUZZING is a replayer).
@Suite struct FuzzCorpusReplayTests {
    @Test func corpusAndCrashesReplayCleanly() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        // The replayer is built beside this test binary, whichever scratch path (.build, .build-asan) it is in.
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let replayer = testBinary.deletingLastPathComponent().appendingPathComponent("FuzzParsers").path
        try #require(FileManager.default.isExecutableFile(atPath: replayer), "\(replayer) is not built")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: replayer)
        let crashes = try FileManager.default.contentsOfDirectory(
            atPath: root.appendingPathComponent("Fuzz/Crashes").path
        )
        .filter { $0.hasPrefix("crash-") }.map { root.appendingPathComponent("Fuzz/Crashes/" + $0).path }
        let corpus = try FileManager.default.contentsOfDirectory(
            atPath: root.appendingPathComponent("Fuzz/Corpus").path)
        process.arguments = [root.appendingPathComponent("Fuzz/Corpus").path] + crashes
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0)
        #expect(corpus.count >= 5)
        #expect(text.contains("replayed \(corpus.count + crashes.count) inputs"), "\(text)")
    }
}
