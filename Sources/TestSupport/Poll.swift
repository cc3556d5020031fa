import Foundation

/// The one way tests wait (a type, so it does not clash with the C library's `poll`).
public enum Poll {
    /// Checks `condition` until it holds, and fails with `what` if it never does within `timeout` (a generous
    /// bound against hangs, not a speed assertion). The pause between checks only spaces them out.
    public static func until(_ what: String, timeout: Double = 60, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if try condition() { return }
            if Date() >= deadline { throw PollTimeout(what: what, seconds: timeout) }
            Thread.sleep(forTimeInterval: 0.01)
        }
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
