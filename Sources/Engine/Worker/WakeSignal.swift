import Foundation

/// Wakes idle workers when a NOTIFY arrives. A hint only: workers also poll.
public final class WakeSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var generation = 0

    public init() {}

    public func broadcast() {
        condition.lock()
        generation += 1
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until a broadcast newer than the call, or the timeout.
    public func wait(timeout: Double) {
        condition.lock()
        let start = generation
        let deadline = Date().addingTimeInterval(max(0, timeout))
        while generation == start {
            if !condition.wait(until: deadline) { break }
        }
        condition.unlock()
    }
}

/// A flag threads check to stop.
public final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    public init() {}
    public var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }
    public func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }
}
