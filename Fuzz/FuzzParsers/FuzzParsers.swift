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

/// One libFuzzer entry point for every byte parser; the first input byte picks which one.
/// Each checks its invariants and traps (which libFuzzer records as a crash) when one breaks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    switch data[0] % 5 {
    case 0: framer(ContentLengthFramer.self, input)
    case 1: framer(NDJSONFramer.self, input)
    case 2:
        // Whatever parses must write out and read back to the same value.
        if let value = try? JSONValue.parse(input) {
            precondition((try? JSONValue.parse(value.serialized())) == value, "JSON round trip changed the value")
        }
    case 3: _ = Incoming.decode(Array(input))
    default:
        var decoder = EventStreamDecoder(maxMessageBytes: 1 << 20)
        // Fed in two parts split by the second byte, so split handling is fuzzed too.
        let split = input.isEmpty ? 0 : Int(input[0]) % input.count
        _ = try? decoder.feed(UnsafeRawBufferPointer(rebasing: input[..<split]))
        _ = try? decoder.feed(UnsafeRawBufferPointer(rebasing: input[split...]))
    }
    return 0
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
            if case .frame(let body) = event { precondition(body.count <= limit, "frame over the limit") }
        }
        precondition(framer.bufferedByteCount <= limit + 16 * 1024, "framer buffered past its bound")
    }
}
