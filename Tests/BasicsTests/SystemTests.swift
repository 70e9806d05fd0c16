import Foundation
import Testing

@testable import Basics

@Suite struct ChildProcessTests {
    static func shell(_ script: String, environment: [String: String] = [:]) throws -> ChildProcess.Output {
        try ChildProcess.run("/bin/sh", arguments: ["-c", script], environment: environment)
    }

    @Test func collectsOutputAndStatus() throws {
        let output = try Self.shell("printf out; printf err >&2; exit 3")
        #expect(output.status == 3)
        #expect(String(decoding: output.stdout, as: UTF8.self) == "out")
        #expect(String(decoding: output.stderr, as: UTF8.self) == "err")
    }

    @Test func aSignalIsReportedByNumber() throws {
        #expect(try Self.shell("kill -9 $$").status == 9)
    }

    @Test func theEnvironmentIsExactlyTheOneGiven() throws {
        let output = try Self.shell("env", environment: ["ONLY": "this"])
        let lines = String(decoding: output.stdout, as: UTF8.self).split(separator: "\n")
        #expect(lines.contains("ONLY=this"))
        #expect(!lines.contains { $0.hasPrefix("HOME=") })
    }

    /// Far more than a pipe holds on both streams at once: neither may block the other.
    @Test func largeOutputOnBothStreamsDoesNotBlock() throws {
        let output = try Self.shell("head -c 1000000 /dev/zero; head -c 1000000 /dev/zero >&2; echo done >&2")
        #expect(output.stdout.count == 1_000_000)
        #expect(output.stderr.count == 1_000_005)
        #expect(output.status == 0)
    }

    /// stdin is /dev/null, our other descriptors are closed in the child, and it has a process group of its own.
    @Test func theChildIsIsolated() throws {
        let pipe = Pipe()  // open descriptors the child must not see
        defer { try? pipe.fileHandleForReading.close() }
        let output = try Self.shell(
            "cat; ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; ps -o pgid= -p $$",
            environment: ["PATH": "/usr/bin:/bin"])
        let lines = String(decoding: output.stdout, as: UTF8.self).split(separator: "\n")
        #expect(lines.first == "0 1 2 3 ")  // 3 is the directory ls itself reads
        #expect(Int32(lines.last?.trimmingWhitespace() ?? "") != getpgrp())
    }

    @Test func aMissingProgramIsAnErrno() {
        #expect(throws: ChildProcess.Errno.self) {
            try ChildProcess.run("/nonexistent/program", arguments: [], environment: [:])
        }
    }
}

@Suite struct DetachedThreadTests {
    @Test func runsTheBodyOnANamedThread() async {
        let name = await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            DetachedThread.start(name: "contenox.a-long-thread-name", stackSize: 1 << 20) {
                let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                continuation.resume(returning: comm)
            }
        }
        #expect(name == "contenox.a-long\n")  // the kernel keeps 15 bytes
    }
}

@Suite struct FileDescriptorIOTests {
    /// More than a pipe buffer, so writes are partial and reads come in pieces.
    @Test func writeAllAndReadAllMoveEveryByte() async throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let text = String(repeating: "0123456789abcdef", count: 40_000)
        DetachedThread.start(name: "writer") {
            #expect(FileDescriptorIO.writeAll(writeEnd, text))
            close(writeEnd)
        }
        let read = FileDescriptorIO.readAll(readEnd)
        close(readEnd)
        #expect(read.count == text.utf8.count)
        #expect(String(decoding: read, as: UTF8.self) == text)
    }

    @Test func writeAllReportsAFailedWrite() {
        #expect(!FileDescriptorIO.writeAll(-1, "x"))
    }
}
