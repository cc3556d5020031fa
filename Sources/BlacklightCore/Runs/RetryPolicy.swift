/// How often, and how long apart, a failed run is tried again.
///
/// Exponential backoff with ±25 % jitter: the nominal delay after the n-th failed attempt is
/// `min(baseDelay * 2^(n-1), maxDelay)` — 1 s, 2 s, 4 s, 8 s ... capped at 5 min with the defaults —
/// and the actual delay is the nominal one times a factor in [0.75, 1.25), so runs that failed
/// together (a database blip) do not all come back in the same second.
public struct RetryPolicy: Sendable, Hashable, Codable {
    /// Retries after the first attempt: `retries = 3` means 4 attempts in all.
    public var retries: Int
    /// Nominal delay in seconds after the first failed attempt.
    public var baseDelay: Double
    /// Cap, in seconds, on the nominal delay.
    public var maxDelay: Double

    /// A negative `retries` is treated as 0 (a single attempt).
    public init(retries: Int, baseDelay: Double = 1, maxDelay: Double = 300) {
        self.retries = max(0, retries)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Attempts in all, the first one included.
    public var maxAttempts: Int { max(0, retries) + 1 }

    /// The delay in seconds before the next attempt.
    ///
    /// Exponential backoff with ±25 % jitter: `min(baseDelay * 2^(attempt-1), maxDelay) * (0.75 + 0.5 * random)`.
    /// - Parameters:
    ///   - attempt: the 1-based number of the attempt that just failed.
    ///   - random: a number in [0, 1), supplied by the caller so the schedule is testable and replayable.
    /// - Returns: `nil` when no attempt is left.
    public func delayAfterFailure(attempt: Int, random: Double) -> Double? {
        guard attempt < maxAttempts else { return nil }
        // 2^(attempt-1) built from its exponent: exact, and infinity (then capped) for absurd attempts.
        let doubling = Double(sign: .plus, exponent: max(1, attempt) - 1, significand: 1)
        let nominal = min(baseDelay * doubling, maxDelay)
        let clamped = random.isFinite ? min(max(random, 0), 1) : 0.5
        return max(0, nominal * (0.75 + 0.5 * clamped))
    }
}
