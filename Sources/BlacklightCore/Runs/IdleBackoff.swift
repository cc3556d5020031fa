/// How long an idle worker waits before it tries to claim again.
///
/// After a claim that found nothing, the worker asks when the next claimable run is due and waits
/// that long (at most the poll interval; a NOTIFY wakes it sooner). When a run looked due but the
/// claim still found nothing (a race with another worker, or rows it cannot see as locked), the wait
/// doubles from `minimum` up to `maximum` instead of retrying every `minimum` seconds; a claim that
/// gets work, or a due time beyond the current wait, starts over at `minimum`.
public struct IdleBackoff: Sendable, Equatable {
    public let minimum: Double
    public let maximum: Double
    /// The shortest wait the next empty claim may take.
    public private(set) var floor: Double

    public init(minimum: Double = 0.005, maximum: Double) {
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
        self.floor = minimum
    }

    /// The wait after a claim that found nothing; `dueIn` is the seconds until the next claimable run
    /// (negative when one is already due, nil when none is known).
    public mutating func waitAfterEmptyClaim(dueIn: Double?) -> Double {
        let wanted = min(maximum, dueIn ?? maximum)
        if wanted < floor {
            let wait = floor
            floor = min(maximum, floor * 2)
            return wait
        }
        floor = minimum
        return wanted
    }

    /// The claim got work: the next idle wait starts from `minimum` again.
    public mutating func claimed() {
        floor = minimum
    }
}
