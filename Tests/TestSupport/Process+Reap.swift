import Foundation

extension Process {
    /// Waits for the process to exit and lets Foundation release it.
    ///
    /// swift-corelibs-foundation's `Process` holds itself through a run-loop source until `waitUntilExit()`
    /// has seen the exit, so one that is never waited for leaks with its pipes. `waitUntilExit()` alone waits
    /// in 50 ms run-loop slices when called on another thread than `run()`; polling first blocks the caller
    /// (often a cooperative thread the other tests need) only as long as the exit takes. Foundation sees the
    /// exit when every holder of its socket (children included) is gone; after `timeout` seconds (times
    /// `TestScale.timeFactor`) this gives up rather than hang, and the Process is left to leak.
    public func reap(timeout: Double = 30) {
        let deadline = Date().addingTimeInterval(TestScale.seconds(timeout))
        while isRunning {
            if Date() > deadline { return }
            usleep(1_000)
        }
        waitUntilExit()
    }
}
