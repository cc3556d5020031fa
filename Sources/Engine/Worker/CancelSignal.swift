import Foundation

/// Counts the cancel requests this process has heard of (NOTIFY `blacklight_cancel`, sent by `blacklight.cancel_runs`
/// when a worker held a run it cancelled). A worker asks the database whether a run it executes was cancelled only
/// when the count moved since the run's batch claimed it, so runs pay nothing while nobody cancels.
public final class CancelSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    public init() {}

    public var generation: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }

    public func bump() {
        lock.lock()
        count &+= 1
        lock.unlock()
    }
}
