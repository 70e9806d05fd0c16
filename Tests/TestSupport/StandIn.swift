import Foundation
import JSON
import Locking
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A running tools/standin/standin.py, the local Bedrock stand-in, on a port of its own choosing.
///
/// `StandIn.shared()` is one instance per test process, killed at exit; `StandIn.start()` gives a private one
/// (for tests that read its counters), killed by `stop()` or deinit.
public final class StandIn: Sendable {
    public let port: Int
    public let pid: Int32
    public let region: String
    private let process: Process
    /// http://127.0.0.1:PORT
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The stand-in's test identities (tools/standin/README.md).
    public enum Identity {
        public static let accessKeyID = "AKIASTANDINEXAMPLE"
        public static let secretAccessKey = "standinSecretKey/EXAMPLEKEY"
        public static let sessionAccessKeyID = "ASIASTANDINSESSION"
        public static let sessionSecretAccessKey = "standinSessionSecret"
        public static let sessionToken = "standin-session-token"
        public static let bedrockAPIKey = "standin-bedrock-api-key"
        public static let webIdentityToken = "standin-web-identity-token"
        public static let containerToken = "standin-container-token"
    }

    private init(port: Int, process: Process, region: String) {
        self.port = port
        self.pid = process.processIdentifier
        self.region = region
        self.process = process
    }

    /// Path of tools/standin/standin.py, found from this file's location.
    public static var scriptPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tools/standin/standin.py").path
    }

    public static var isAvailable: Bool { FileManager.default.fileExists(atPath: scriptPath) }

    /// Starts a stand-in and waits (up to 30 s) until it has written its port.
    public static func start(region: String = "us-east-1") throws -> StandIn {
        guard isAvailable else { throw StartError(description: "\(scriptPath) does not exist") }
        let portFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("standin-\(UUID().uuidString).port").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // --exit-with-parent: a runner that crashes (atexit never runs) must not leave the stand-in holding
        // its stderr open, or `swift test` waits for that pipe forever.
        process.arguments = [
            "python3", scriptPath, "--port", "0", "--port-file", portFile, "--region", region, "--exit-with-parent",
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.standardError
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
                let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), port > 0
            {
                try? FileManager.default.removeItem(atPath: portFile)
                return StandIn(port: port, process: process, region: region)
            }
            if !process.isRunning {
                process.reap()
                throw StartError(description: "standin.py exited with status \(process.terminationStatus)")
            }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.reap()
        throw StartError(description: "standin.py did not write its port within 30 s")
    }

    private static let sharedInstance = LockedValue<StandIn?>(nil)

    /// One stand-in for the whole test process, started on first use, killed when the process exits.
    public static func shared() throws -> StandIn {
        try sharedInstance.withLock { instance in
            if let instance { return instance }
            let started = try start()
            sharedPID.store(started.pid, ordering: .relaxed)
            atexit {
                let pid = StandIn.sharedPID.load(ordering: .relaxed)
                if pid > 0 { kill(pid, SIGKILL) }
            }
            instance = started
            return started
        }
    }

    /// Kills the stand-in and waits for it (`Process.reap()` says why waiting matters).
    public func stop() {
        if process.isRunning { kill(pid, SIGKILL) }
        process.reap()
    }

    deinit {
        if StandIn.sharedPID.load(ordering: .relaxed) != pid { stop() }
    }

    private static let sharedPID = Atomic<Int32>(0)

    // MARK: Introspection

    /// GET /_standin/stats: {requests, streamsStarted, streamsCompleted, clientDisconnects, active}.
    public func stats() throws -> JSONValue { try JSONValue.parse(try request("GET", "/_standin/stats")) }

    /// GET /_standin/requests: the last 100 requests [{method, path, headers, body}].
    public func requests() throws -> JSONValue { try JSONValue.parse(try request("GET", "/_standin/requests")) }

    /// POST /_standin/reset.
    public func reset() throws { _ = try request("POST", "/_standin/reset") }

    /// POST /_standin/close-idle: the stand-in closes its idle API connections (a FIN, as a server's keep-alive
    /// timeout would); returns how many.
    @discardableResult
    public func closeIdleConnections() throws -> Int {
        Int(try JSONValue.parse(try request("POST", "/_standin/close-idle"))["closed"]?.intValue ?? -1)
    }

    /// Reads the counters until `condition` holds for them, for up to `seconds` (stretched by the time
    /// factor); returns the last ones read, so the caller's expectations say what was wrong if it never held.
    public func stats(
        within seconds: Double = 20, until condition: (JSONValue) -> Bool
    ) async throws -> JSONValue {
        let deadline = ContinuousClock.now + .seconds(TestScale.seconds(seconds))
        var last = try stats()
        while !condition(last), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            last = try stats()
        }
        return last
    }

    /// A plain HTTP/1.0 request over a socket, so test support needs no HTTP client of its own.
    public func request(_ method: String, _ path: String) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw StartError(description: "connect to stand-in failed") }
        let text = "\(method) \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nContent-Length: 0\r\n\r\n"
        _ = text.withCString { send(fd, $0, strlen($0), 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response.append(contentsOf: buffer[0..<n])
        }
        guard let split = findHeaderEnd(response) else { throw StartError(description: "bad stand-in answer") }
        return Array(response[split...])
    }

    private func findHeaderEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4)
        where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }
}
