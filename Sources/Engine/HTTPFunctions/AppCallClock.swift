import Foundation

/// Time this process's workers spent waiting for SDK apps' answers, and how many calls: `bench http-functions` takes
/// Blacklight's share of a step as the run's wall time minus this, measured on the very calls of the runs.
public enum AppCallClock {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var seconds = 0.0
    nonisolated(unsafe) private static var calls = 0

    static func add(_ s: Double) {
        lock.lock()
        seconds += s
        calls += 1
        lock.unlock()
    }

    /// The totals since the last call, reset to zero.
    public static func take() -> (seconds: Double, calls: Int) {
        lock.lock()
        defer {
            seconds = 0
            calls = 0
            lock.unlock()
        }
        return (seconds, calls)
    }
}
