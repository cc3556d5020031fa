import Foundation

/// What is known about one step of a run from earlier executions.
public struct StepMemo: Sendable, Equatable {
    public enum Status: String, Sendable { case completed, failed, sleeping, waiting }
    public var status: Status
    /// The memoized output (typed JSON) once completed.
    public var output: JSONValue?
    /// When a sleeping step wakes, or when a waiting step times out.
    public var wakeAt: Date?
    public var attempts: Int

    public init(status: Status, output: JSONValue? = nil, wakeAt: Date? = nil, attempts: Int = 1) {
        self.status = status
        self.output = output
        self.wakeAt = wakeAt
        self.attempts = attempts
    }
}

/// The replay rules of one execution of a run, without I/O: the run's function runs again from the
/// top on every execution, and each step asks this machine whether to return a memo, execute, or park.
/// The driver (the engine) performs the returned action and reports back.
public struct StepReplay: Sendable {
    public enum Decision: Sendable, Equatable {
        /// Return this stored output instead of running the step.
        case replay(JSONValue)
        /// Run the step's code now; `key` is the id with its stable suffix.
        case execute(key: String)
        /// Park the run until `until` (a new sleep, or one not yet due). `isNew`: record the sleep.
        case park(key: String, until: Date, isNew: Bool)
        /// A sleep that is now due: record it as completed and go on.
        case wake(key: String)
        /// A wait reached for the first time: look for an event that already arrived, else register.
        case startWait(key: String)
        /// A registered wait whose run was woken: it either timed out or is still pending.
        case resumeWait(key: String, expiresAt: Date)
    }

    public private(set) var memos: [String: StepMemo]
    /// Keys of steps reached in this execution, in order.
    public private(set) var reached: [String] = []
    private var keys = StepKeys()

    public init(memos: [String: StepMemo]) {
        self.memos = memos
    }

    /// Position of the next step, used to order the timeline.
    public var sequence: Int { reached.count }

    private mutating func nextKey(_ id: String) -> String {
        let key = keys.key(for: id)
        reached.append(key)
        return key
    }

    /// `step.run`: replay a completed memo, otherwise execute.
    public mutating func run(_ id: String) -> Decision {
        let key = nextKey(id)
        if let memo = memos[key], memo.status == .completed {
            return .replay(memo.output ?? .null)
        }
        return .execute(key: key)
    }

    /// `step.sleep` / `step.sleep_until` with the wake time computed from the run's clock.
    public mutating func sleep(_ id: String, until: Date, now: Date) -> Decision {
        let key = nextKey(id)
        guard let memo = memos[key] else {
            if until <= now {
                return .wake(key: key)
            }
            memos[key] = StepMemo(status: .sleeping, wakeAt: until)
            return .park(key: key, until: until, isNew: true)
        }
        switch memo.status {
        case .completed:
            return .replay(memo.output ?? .null)
        case .sleeping, .waiting, .failed:
            let wake = memo.wakeAt ?? until
            if wake <= now {
                return .wake(key: key)
            }
            return .park(key: key, until: wake, isNew: false)
        }
    }

    /// `step.wait_for_event`.
    public mutating func wait(_ id: String) -> Decision {
        let key = nextKey(id)
        guard let memo = memos[key] else {
            return .startWait(key: key)
        }
        switch memo.status {
        case .completed:
            return .replay(memo.output ?? .null)
        case .waiting, .sleeping, .failed:
            return .resumeWait(key: key, expiresAt: memo.wakeAt ?? .distantPast)
        }
    }

    /// Records the outcome of a step so a later step in the same execution sees it.
    public mutating func record(_ key: String, _ memo: StepMemo) {
        memos[key] = memo
    }
}
