/// Where a run is in its life. The raw values are what the database and the API store and show.
public enum RunStatus: String, Sendable, Hashable, CaseIterable, Codable {
    /// Waiting for a worker to claim it (new, or due again after a retry delay).
    case queued
    /// Claimed by a worker that holds its lease.
    case running
    /// Parked by `step.sleep` / `step.sleep_until` until a time.
    case sleeping
    /// Parked by `step.wait_for_event` until a matching event or the timeout.
    case waiting
    case completed
    case failed
    case cancelled

    /// True when the run will never execute again: completed, failed or cancelled.
    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .cancelled: true
        case .queued, .running, .sleeping, .waiting: false
        }
    }
}
