import Synchronization

/// Counters of one worker thread, read from other threads by tests and benchmarks: whether an idle
/// worker polls the database, and how often, is otherwise invisible.
public final class WorkerStats: Sendable {
    public struct Snapshot: Sendable, Equatable {
        /// Claim transactions started, whether they claimed anything or not.
        public var claimAttempts = 0
        /// Times the worker went idle (a claim found nothing), and the last wait it chose.
        public var idleWaits = 0
        public var lastIdleWait = 0.0
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func claimAttempted() { state.withLock { $0.claimAttempts += 1 } }

    func wentIdle(for seconds: Double) {
        state.withLock {
            $0.idleWaits += 1
            $0.lastIdleWait = seconds
        }
    }
}
