internal import CLinux

/// What a crash prints. The Swift runtime's backtracer (on by default in dynamically linked builds) prints,
/// for every register, the 16 bytes of memory it points at, as text: a credential being signed with at the
/// moment of a crash could reach a terminal, an editor's log buffer or a bug report. contenox replaces it
/// with one line naming the signal (see `CLinux_crash_handler`) and nothing read from memory.
public enum CrashHandler {
    /// Installs the one-line handler, unless `SWIFT_BACKTRACE` is set (not empty): whoever sets it asked
    /// for the runtime's backtraces and keeps them.
    public static func install(environment: [String: String]) {
        guard (environment["SWIFT_BACKTRACE"] ?? "").isEmpty else { return }
        _ = CLinux_install_crash_handler()
    }
}
