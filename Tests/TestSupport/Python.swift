import Foundation

/// Runs a Python helper script (an oracle such as botocore) with `input` on stdin and returns its stdout.
///
/// A missing python3 or module is an error with the script's stderr, so a test that needs the oracle
/// fails loudly instead of passing without it.
public func runPython(_ scriptPath: String, input: [UInt8], arguments: [String] = []) throws -> [UInt8] {
    struct PythonFailed: Error, CustomStringConvertible { var description: String }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", scriptPath] + arguments
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    // Write and read on separate threads so a large input or output cannot deadlock the pipes.
    let writer = Thread {
        stdin.fileHandleForWriting.write(Data(input))
        try? stdin.fileHandleForWriting.close()
    }
    writer.start()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    let errors = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw PythonFailed(
            description: "python3 \(scriptPath) failed (\(process.terminationStatus)); python3 with botocore is "
                + "required (make deps): \(String(decoding: errors, as: UTF8.self))")
    }
    return [UInt8](output)
}

/// The directory holding the test file that calls this, for finding its Fixtures.
public func fixturesDirectory(file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("Fixtures")
}
