import Basics
import Glibc

/// Log lines on stderr (stdout carries only protocol frames). The level comes from `--log-level` or
/// `CONTENOX_LOG`. Nothing that could hold a secret is ever passed to it: params are not logged.
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case error, warn, info, debug

        public init?(name: String) {
            guard let level = Self.allCases.first(where: { "\($0)" == name.lowercased() }) else { return nil }
            self = level
        }

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public var level: Level

    public init(level: Level) { self.level = level }

    public func log(_ level: Level, _ message: @autoclosure () -> String) {
        guard level <= self.level else { return }
        let line = "contenox[\(getpid())] \(level): \(message())\n"
        FileDescriptorIO.writeAll(2, line)
    }

    public func error(_ message: @autoclosure () -> String) { log(.error, message()) }
    public func warn(_ message: @autoclosure () -> String) { log(.warn, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }
}
