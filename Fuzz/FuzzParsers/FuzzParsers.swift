import Bedrock
import Foundation
import JSON
import JSONRPC

#if FUZZING
    /// libFuzzer's own driver, called from Swift's entry point (SwiftPM names an executable's entry
    /// `<module>_main`, so libFuzzer's `main` cannot be used directly).
    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt

    @main
    enum FuzzMain {
        static func main() {
            if let name = ProcessInfo.processInfo.environment["CONTENOX_FUZZ_FAMILY"], !name.isEmpty,
                Family(rawValue: name) == nil
            {
                let names = Family.allCases.map(\.rawValue).joined(separator: ", ")
                FileHandle.standardError.write(Data("CONTENOX_FUZZ_FAMILY must be one of \(names)\n".utf8))
                exit(2)
            }
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(runFuzzerDriver(&argc, &argv) { data, size in fuzz(data, size) })
        }
    }
#else
    /// Without libFuzzer: runs every file named on the command line (or in the directories named)
    /// through the fuzz entry point, so a corpus and the crashes found stay regression tests.
    @main
    enum ReplayCorpus {
        static func main() throws {
            var count = 0
            for argument in CommandLine.arguments.dropFirst() {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: argument])
                }
                let files =
                    isDirectory.boolValue
                    ? try FileManager.default.contentsOfDirectory(atPath: argument).sorted().map { argument + "/" + $0 }
                    : [argument]
                for file in files {
                    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
                    bytes.withUnsafeBufferPointer { buffer in
                        if let base = buffer.baseAddress { _ = fuzz(base, buffer.count) }
                    }
                    count += 1
                }
            }
            print("replayed \(count) inputs")
        }
    }
#endif

/// The parser families. The first input byte picks one (`byte % count`), so a saved input replays
/// through the same parser whichever run found it; new families go at the end to keep that true.
enum Family: String, CaseIterable {
    case lsp, ndjson, json, jsonrpc, eventstream, awsconfig, credentials, sts, signin

    static func of(_ byte: UInt8) -> Family { allCases[Int(byte) % allCases.count] }

    #if FUZZING
        /// CONTENOX_FUZZ_FAMILY=<name> keeps a run on one family, so that scripts/fuzz.sh can give each
        /// its share of the time instead of letting the easiest one take it all.
        static let pinned = ProcessInfo.processInfo.environment["CONTENOX_FUZZ_FAMILY"].flatMap { Family(rawValue: $0) }
    #else
        static let pinned: Family? = nil
    #endif
}

/// One libFuzzer entry point for every parser that reads bytes from outside; the first input byte
/// picks which one. Each checks its invariants and traps (which libFuzzer records as a crash) when one
/// breaks, so logic bugs are found as well as crashes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let family = Family.of(data[0])
    // -1 tells libFuzzer to drop the input from its corpus: a pinned run stays on its family.
    if let pinned = Family.pinned, family != pinned { return -1 }
    let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    switch family {
    case .lsp: framer(ContentLengthFramer.self, input)
    case .ndjson: framer(NDJSONFramer.self, input)
    case .json:
        // Whatever parses must write out and read back to the same value.
        if let value = try? JSONValue.parse(input) {
            check((try? JSONValue.parse(value.serialized())) == value, "JSON round trip changed the value")
        }
    case .jsonrpc:
        _ = Incoming.decode(Array(input))
        jsonScanner(input)
    case .eventstream:
        var decoder = EventStreamDecoder(maxMessageBytes: 1 << 20)
        // Fed in two parts split by the second byte, so split handling is fuzzed too.
        let split = input.isEmpty ? 0 : Int(input[0]) % input.count
        _ = try? decoder.feed(UnsafeRawBufferPointer(rebasing: input[..<split]))
        _ = try? decoder.feed(UnsafeRawBufferPointer(rebasing: input[split...]))
    case .awsconfig: awsConfigFiles(Array(input))
    case .credentials: credentialDocument(Array(input))
    case .sts: stsAnswer(Array(input))
    case .signin: signInAnswer(Array(input))
    }
    return 0
}

/// Traps with `message` when `condition` is false. Unlike `precondition`, the message is printed in an
/// optimised build too, so a fuzzer crash report says which invariant broke.
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

private func framer<F: MessageFramer>(_ type: F.Type, _ input: UnsafeRawBufferPointer) {
    let limit = 4096
    var framer = F(maxMessageBytes: limit)
    var offset = 0
    while offset < input.count {
        let size = min(input.count - offset, 1 + Int(input[offset]) % 97)
        framer.feed(UnsafeRawBufferPointer(rebasing: input[offset..<(offset + size)]))
        offset += size
        while let event = framer.nextFrame() {
            if case .frame(let body) = event { check(body.count <= limit, "frame over the limit") }
        }
        check(framer.bufferedByteCount <= limit + 16 * 1024, "framer buffered past its bound")
    }
}

/// The dispatcher walks raw frames with JSONScanner before (or instead of) parsing them: every span it
/// reports must lie inside the input, in order, and the elements it finds in text jansson accepts as an
/// array must be as many as jansson's.
func jsonScanner(_ input: UnsafeRawBufferPointer) {
    if let spans = JSONScanner.arrayElements(input) {
        var previous = 0
        for span in spans {
            guard span.lowerBound >= previous, span.upperBound <= input.count, !span.isEmpty else {
                fatalError("array element span \(span) out of order or bounds")
            }
            previous = span.upperBound
        }
        if case .array(let elements)? = try? JSONValue.parse(input), elements.count != spans.count {
            fatalError("scanner found \(spans.count) elements, jansson \(elements.count)")
        }
    }
    if let span = JSONScanner.memberValue(input, key: "id") {
        guard span.lowerBound >= 0, span.upperBound <= input.count, !span.isEmpty else {
            fatalError("member span \(span) out of bounds")
        }
    }
}
