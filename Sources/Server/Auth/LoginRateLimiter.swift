import Foundation
import Synchronization

/// Sign-in attempts per client address: at most `limit` in any `window` (60 s by default); the next gets 429 with the
/// seconds until the oldest of them leaves the window. Guessing the signing key by brute force is thus bounded, per address.
///
/// In memory, per process: each `serve` process counts its own (N processes allow N × limit), and a restart
/// forgets. Behind a reverse proxy every client shares the proxy's address, and so its allowance; the proxy's
/// X-Forwarded-For is not trusted, because a client could then pick a fresh address per attempt.
final class LoginRateLimiter: Sendable {
    private let limit: Int
    private let window: Duration
    private let attempts = Mutex<[String: [ContinuousClock.Instant]]>([:])

    init(limit: Int, window: Double = 60) {
        self.limit = max(1, limit)
        self.window = .milliseconds(Int64(max(1, min(window, 86400)) * 1000))
    }

    /// Records an attempt from `address`, or returns the seconds to wait when it is one too many.
    func attempt(from address: String, now: ContinuousClock.Instant = .now) -> Int? {
        attempts.withLock { table in
            if table.count > 10_000 { table = table.filter { $0.value.contains { now - $0 < window } } }
            var recent = table[address, default: []].filter { now - $0 < window }
            if recent.count >= limit {
                table[address] = recent
                let wait = window - (now - recent[0])
                return max(1, Int(wait.components.seconds) + (wait.components.attoseconds > 0 ? 1 : 0))
            }
            recent.append(now)
            table[address] = recent
            return nil
        }
    }
}
