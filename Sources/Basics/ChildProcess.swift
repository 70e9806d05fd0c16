internal import CLinux
import Glibc

/// Runs a program to completion with posix_spawn and collects its output, as Foundation's Process did for
/// us: stdin from /dev/null, stdout and stderr through pipes, descriptors from 3 up closed in the child,
/// the child in a process group of its own (a Ctrl-C at the terminal, sent to our group, does not reach it).
/// Blocks the calling thread until the program exits; call it from a thread of its own.
public enum ChildProcess {
    public struct Output: Sendable {
        /// The exit status, or the number of the signal that ended the program (Process's terminationStatus).
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
    }

    /// Runs `executable` (a path; no PATH search) with `arguments` (without argv[0]) and exactly
    /// `environment`. Throws the errno of a failed pipe or spawn.
    public static func run(_ executable: String, arguments: [String], environment: [String: String])
        throws(Errno) -> Output
    {
        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        guard pipe(&stdoutPipe) == 0 else { throw Errno(errno) }
        guard pipe(&stderrPipe) == 0 else {
            let error = Errno(errno)
            close(stdoutPipe[0])
            close(stdoutPipe[1])
            throw error
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        CLinux_spawn_file_actions_addclosefrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard spawned == 0 else {
            close(stdoutPipe[0])
            close(stderrPipe[0])
            throw Errno(spawned)
        }

        let (stdout, stderr) = readBoth(stdoutPipe[0], stderrPipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        // WIFSIGNALED / WTERMSIG / WEXITSTATUS, which Swift does not import (they are macros).
        let terminatingSignal = status & 0x7f
        let code = terminatingSignal != 0 && terminatingSignal != 0x7f ? terminatingSignal : (status >> 8) & 0xff
        return Output(status: code, stdout: stdout, stderr: stderr)
    }

    /// Reads both pipes to their ends with poll(2), so that a program writing much to one of them cannot
    /// block while we wait on the other; closes them.
    private static func readBoth(_ stdout: Int32, _ stderr: Int32) -> ([UInt8], [UInt8]) {
        var outputs: [[UInt8]] = [[], []]
        var fds = [stdout, stderr].map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while fds.contains(where: { $0.fd >= 0 }) {
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = chunk.withUnsafeMutableBytes { read(fds[index].fd, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count > 0 {
                    outputs[index] += chunk[0..<count]
                } else {
                    close(fds[index].fd)
                    fds[index].fd = -1
                }
            }
        }
        for pollFD in fds where pollFD.fd >= 0 { close(pollFD.fd) }
        return (outputs[0], outputs[1])
    }

    /// An errno value and its strerror text.
    public struct Errno: Error, Sendable, CustomStringConvertible {
        public var code: Int32
        public init(_ code: Int32) { self.code = code }
        public var description: String { String(cString: strerror(code)) }
    }
}
