import Foundation

/// Factors for the tests' wall-clock and memory bounds, read once from the environment.
///
/// The bounds are set for a plain debug build, where both factors are 1 and nothing changes. Under
/// AddressSanitizer and ThreadSanitizer (`make sanitize`) every process runs several times slower, and a
/// child's RSS counts shadow memory and (ASan) the quarantine that holds freed blocks back for hundreds of
/// MiB, so RSS there says little about what the server keeps. The sanitizer targets therefore set
/// `CONTENOX_TEST_TIME_SCALE` (timeouts, upper bounds on elapsed time, and the stalls that must outlast
/// them) and `CONTENOX_TEST_MEMORY_SCALE` (RSS bounds). Lower bounds are never scaled.
public enum TestScale {
    /// `CONTENOX_TEST_TIME_SCALE`, default 1.
    public static let timeFactor = factor("CONTENOX_TEST_TIME_SCALE")
    /// `CONTENOX_TEST_MEMORY_SCALE`, default 1.
    public static let memoryFactor = factor("CONTENOX_TEST_MEMORY_SCALE")

    /// An upper bound on elapsed time, stretched by the time factor.
    public static func time(_ bound: Duration) -> Duration { bound * timeFactor }

    /// A timeout or wait in seconds, stretched by the time factor.
    public static func seconds(_ seconds: Double) -> Double { seconds * timeFactor }

    /// Milliseconds (for a stand-in directive such as `@@stall-ms=`), stretched by the time factor.
    public static func milliseconds(_ milliseconds: Int) -> Int { Int((Double(milliseconds) * timeFactor).rounded()) }

    /// A bound on RSS in MiB, stretched by the memory factor.
    public static func mebibytes(_ bound: Double) -> Double { bound * memoryFactor }

    private static func factor(_ name: String) -> Double {
        guard let text = ProcessInfo.processInfo.environment[name], !text.isEmpty else { return 1 }
        guard let value = Double(text), value >= 1 else {
            preconditionFailure("\(name)=\(text): expected a number of at least 1")
        }
        return value
    }
}
