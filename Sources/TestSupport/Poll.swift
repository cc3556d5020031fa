import Foundation

/// The one way tests wait (a type, so it does not clash with the C library's `poll`). Every timeout here is a
/// generous bound against hangs, never a speed assertion; the pause between checks only spaces them out.
public enum Poll {
    /// Checks `condition` until it holds, and fails with `what` if it never does within `timeout`.
    public static func until(_ what: String, timeout: Double = 60, _ condition: () throws -> Bool) throws {
        if try !holds(within: timeout, condition) { throw PollTimeout(what: what, seconds: timeout) }
    }

    /// Checks `condition` until it holds; false if it still does not after `timeout` (for `#expect(...)`).
    public static func holds(within timeout: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if try condition() { return true }
            if Date() >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    /// `holds` for async code: it pauses without holding a thread of the cooperative pool, which in-process
    /// servers under test need to answer. (A name of its own: given a synchronous condition, Swift would pick the
    /// blocking overload even from async code.)
    public static func suspendingHolds(within timeout: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if try await condition() { return true }
            if Date() >= deadline { return false }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    /// `until` for async code (see `suspendingHolds`).
    public static func suspendingUntil(_ what: String, timeout: Double = 60, _ condition: () async throws -> Bool) async throws {
        if try await !suspendingHolds(within: timeout, condition) { throw PollTimeout(what: what, seconds: timeout) }
    }
}

public struct PollTimeout: Error, CustomStringConvertible {
    public let what: String
    public let seconds: Double
    public init(what: String, seconds: Double) {
        self.what = what
        self.seconds = seconds
    }
    public var description: String { "gave up waiting after \(Int(seconds)) s for: \(what)" }
}
