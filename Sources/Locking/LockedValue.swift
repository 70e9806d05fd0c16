#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value that is only reached while holding a lock: the shape of `Synchronization.Mutex`
/// (`init(_:)`, `withLock`), built on a heap-allocated `pthread_mutex_t` because ThreadSanitizer
/// intercepts pthread but not the raw futex calls behind `Mutex` on Linux, so every `Mutex` looked
/// like a race. The class owns the mutex and the value's storage and frees both in `deinit`; like
/// `Mutex`, it is not reentrant.
public final class LockedValue<Value>: @unchecked Sendable {
    // @unchecked: the value is only read or written inside `withLock`, between lock and unlock.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    // Not a stored `var`: a zero-sized value (`LockedValue(())`) would share its address with the object
    // header, and ThreadSanitizer took the exclusivity check on it for a write racing the header's read.
    private let value: UnsafeMutablePointer<Value>

    public init(_ initialValue: sending Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
        value = .allocate(capacity: 1)
        value.initialize(to: initialValue)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    /// Runs `body` with exclusive access to the value and returns what it returns.
    public func withLock<Result, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}
