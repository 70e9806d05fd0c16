import Foundation
import JSON
import TestSupport
import Testing

@testable import Bedrock

@Suite struct EventStreamTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: fixturesDirectory().appendingPathComponent("eventstream/\(name)")))
    }

    static func decodeAll(_ chunks: [[UInt8]]) throws(EventStreamError) -> ([EventStreamMessage], Bool) {
        var decoder = EventStreamDecoder()
        var messages: [EventStreamMessage] = []
        for chunk in chunks {
            let decoded: [EventStreamMessage]
            do {
                decoded = try chunk.withUnsafeBytes { raw in try decoder.feed(raw) }
            } catch let error as EventStreamError {
                throw error
            } catch {
                fatalError("feed throws only EventStreamError")
            }
            messages += decoded
        }
        return (messages, decoder.hasPartialMessage)
    }

    static let sample: [EventStreamMessage] = [
        EventStreamMessage(
            headers: [
                .init(name: ":message-type", value: .string("event")),
                .init(name: ":event-type", value: .string("contentBlockDelta")),
                .init(name: ":content-type", value: .string("application/json")),
            ], payload: Array(#"{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefgh"}"#.utf8)),
        EventStreamMessage(headers: [.init(name: "empty", value: .bool(true))], payload: []),
        EventStreamMessage(
            headers: [.init(name: ":exception-type", value: .string("throttlingException"))],
            payload: Array(#"{"message":"slow down"}"#.utf8)),
    ]

    @Test func decodesEveryHeaderTypeFromAnIndependentEncoding() throws {
        let (messages, partial) = try Self.decodeAll([Self.fixture("every_header_type.bin")])
        #expect(!partial)
        #expect(messages.count == 2)
        let first = messages[0]
        #expect(first.header("t") == .bool(true))
        #expect(first.header("f") == .bool(false))
        #expect(first.header("i8") == .int8(-5))
        #expect(first.header("i16") == .int16(-300))
        #expect(first.header("i32") == .int32(70000))
        #expect(first.header("i64") == .int64(-(1 << 40)))
        #expect(first.header("bytes") == .bytes([0, 1, 0xFF]))
        #expect(first.header(":event-type")?.stringValue == "contentBlockDelta")
        #expect(first.header("ts") == .timestamp(1_700_000_000_123))
        #expect(first.header("id") == .uuid(Array(0..<16)))
        #expect(try JSONValue.parse(first.payload)["delta"]?["text"] == "Hi")
        #expect(messages[1].payload.isEmpty)
    }

    @Test func everySplitPointGivesTheSameMessages() throws {
        let stream = Self.sample.flatMap(EventStreamEncoder.encode)
        #expect(try Self.decodeAll([stream]).0 == Self.sample)
        #expect(try Self.decodeAll(stream.map { [$0] }).0 == Self.sample)
        for split in 0...stream.count {
            let (messages, partial) = try Self.decodeAll([Array(stream[..<split]), Array(stream[split...])])
            #expect(messages == Self.sample, "split at \(split)")
            #expect(!partial)
        }
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<200 {
            var chunks: [[UInt8]] = []
            var index = 0
            while index < stream.count {
                let size = Int(rng.next() % 40) + 1
                chunks.append(Array(stream[index..<min(stream.count, index + size)]))
                index += size
            }
            #expect(try Self.decodeAll(chunks).0 == Self.sample)
        }
    }

    @Test func manyMessagesInOneChunkAndCompaction() throws {
        let one = EventStreamEncoder.encode(Self.sample[0])
        let stream = Array([[UInt8]](repeating: one, count: 5000).joined())
        #expect(try Self.decodeAll([stream]).0.count == 5000)
        // Odd-sized chunks force the buffered path and its compaction.
        var chunks: [[UInt8]] = []
        var index = 0
        while index < stream.count {
            chunks.append(Array(stream[index..<min(stream.count, index + 70_001)]))
            index += 70_001
        }
        #expect(try Self.decodeAll(chunks).0.count == 5000)
    }

    @Test func truncatedStreamIsReportedAsPartial() throws {
        let stream = EventStreamEncoder.encode(Self.sample[0])
        for cut in 1..<stream.count {
            let (messages, partial) = try Self.decodeAll([Array(stream[..<cut])])
            #expect(messages.isEmpty)
            #expect(partial)
        }
    }

    static func corrupt(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = EventStreamEncoder.encode(sample[0])
        change(&bytes)
        return bytes
    }

    static func withFixedPrelude(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        let crc = CRC32.checksum(Array(bytes[0..<8]))
        bytes.replaceSubrange(8..<12, with: (0..<4).map { UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32($0))) })
        let body = Array(bytes[..<(bytes.count - 4)])
        let messageCRC = CRC32.checksum(body)
        bytes.replaceSubrange(
            (bytes.count - 4)..., with: (0..<4).map { UInt8(truncatingIfNeeded: messageCRC >> (24 - 8 * UInt32($0))) })
        return bytes
    }

    @Test(
        arguments: [
            ("prelude checksum", corrupt { $0[9] ^= 1 }),
            ("message checksum", corrupt { $0[$0.count - 1] ^= 1 }),
            ("payload bit flip", corrupt { $0[$0.count - 10] ^= 0x40 }),
            ("too short", withFixedPrelude([0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
            ("too long", withFixedPrelude([0x7F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
            ("headers overrun", withFixedPrelude([0, 0, 0, 16, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0])),
            ("unknown header type", withFixedPrelude([0, 0, 0, 19, 0, 0, 0, 3, 0, 0, 0, 0, 1, 0x61, 42, 0, 0, 0, 0])),
            ("truncated header", withFixedPrelude([0, 0, 0, 20, 0, 0, 0, 4, 0, 0, 0, 0, 1, 0x61, 7, 0, 0, 0, 0, 0])),
            ("bad UTF-8 name", withFixedPrelude([0, 0, 0, 18, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0xFF, 0, 0, 0, 0])),
            ("empty header name", withFixedPrelude([0, 0, 0, 17, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
        ] as [(String, [UInt8])])
    func corruptionIsAnErrorAndTheDecoderStaysFailed(name: String, bytes: [UInt8]) {
        var decoder = EventStreamDecoder()
        #expect(throws: EventStreamError.self, "\(name)") { try bytes.withUnsafeBytes { try decoder.feed($0) } }
        let good = EventStreamEncoder.encode(Self.sample[1])
        #expect(throws: EventStreamError.self) { try good.withUnsafeBytes { try decoder.feed($0) } }
    }

    @Test func messageLimitIsEnforced() {
        var decoder = EventStreamDecoder(maxMessageBytes: 64)
        let big = EventStreamEncoder.encode(EventStreamMessage(headers: [], payload: Array(repeating: 1, count: 100)))
        #expect(throws: EventStreamError.self) { try big.withUnsafeBytes { try decoder.feed($0) } }
    }

    @Test func randomMessagesRoundTrip() throws {
        var rng = SeededGenerator(seed: 42)
        var messages: [EventStreamMessage] = []
        for _ in 0..<300 {
            var headers: [EventStreamHeader] = []
            for index in 0..<Int(rng.next() % 6) {
                let value: EventStreamHeaderValue
                switch rng.next() % 9 {
                case 0: value = .bool(rng.next() % 2 == 0)
                case 1: value = .int8(Int8(truncatingIfNeeded: rng.next()))
                case 2: value = .int16(Int16(truncatingIfNeeded: rng.next()))
                case 3: value = .int32(Int32(truncatingIfNeeded: rng.next()))
                case 4: value = .int64(Int64(bitPattern: rng.next()))
                case 5: value = .bytes((0..<Int(rng.next() % 50)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
                case 6: value = .string(String(repeating: "é😀a", count: Int(rng.next() % 10)))
                case 7: value = .timestamp(Int64(bitPattern: rng.next()))
                default: value = .uuid((0..<16).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
                }
                headers.append(EventStreamHeader(name: "h\(index)", value: value))
            }
            let payload = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            messages.append(EventStreamMessage(headers: headers, payload: payload))
        }
        let stream = messages.flatMap(EventStreamEncoder.encode)
        #expect(try Self.decodeAll([stream]).0 == messages)
    }

    /// botocore's decoder reads what EventStreamEncoder writes.
    @Test func botocoreDecodesOurEncoding() throws {
        let messages =
            Self.sample + [
                EventStreamMessage(
                    headers: [
                        .init(name: "i32", value: .int32(-7)), .init(name: "ts", value: .timestamp(1_700_000_000_000)),
                        .init(name: "b", value: .bytes([1, 2, 3])), .init(name: "u", value: .uuid(Array(0..<16))),
                        .init(name: "i64", value: .int64(1 << 40)), .init(name: "i16", value: .int16(-2)),
                        .init(name: "i8", value: .int8(3)), .init(name: "f", value: .bool(false)),
                    ], payload: Array("payload".utf8))
            ]
        let script = fixturesDirectory().appendingPathComponent("eventstream/botocore_decode.py").path
        let output = try JSONValue.parse(try runPython(script, input: messages.flatMap(EventStreamEncoder.encode)))
        let decoded = try #require(output.arrayValue)
        #expect(decoded.count == messages.count)
        #expect(decoded[0]["headers"]?[":event-type"] == "contentBlockDelta")
        #expect(decoded[0]["payload"]?.stringValue == String(decoding: messages[0].payload, as: UTF8.self))
        let last = try #require(decoded.last?["headers"])
        #expect(last["i32"] == -7)
        #expect(last["ts"] == 1_700_000_000_000)
        #expect(last["b"] == "010203")
        #expect(last["u"] == "000102030405060708090a0b0c0d0e0f")
        #expect(last["i64"] == .int(1 << 40))
        #expect(last["i16"] == -2)
        #expect(last["i8"] == 3)
        #expect(last["f"] == false)
    }

    @Test(arguments: [
        ("123456789", UInt32(0xCBF4_3926)), ("", UInt32(0)), ("hello world", UInt32(0x0D4A_1185)),
    ])
    func crc32KnownValues(input: String, expected: UInt32) {
        #expect(CRC32.checksum(Array(input.utf8)) == expected)
    }

    @Test func crc32LongInputAndSeeding() {
        let bytes = Array([[UInt8]](repeating: Array(0...255), count: 3).joined())
        #expect(CRC32.checksum(bytes) == 0xB0C0_DF2A)
        let split = CRC32.checksum(Array(bytes[300...]), seed: CRC32.checksum(Array(bytes[..<300])))
        #expect(split == 0xB0C0_DF2A)
    }
}
