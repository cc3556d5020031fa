import Foundation
import Logging

/// Process-wide settings and services the Lua host API needs.
public struct HostServices: Sendable {
    public var log: Logger
    /// First retry delay in seconds (doubles each attempt, ±25 % jitter, capped at maxRetryDelay).
    public var retryBaseDelay: Double
    public var maxRetryDelay: Double
    /// Extra globals installed into every workflow VM.
    public var extensions: [any HostExtension] = []
    /// Cancel requests heard by this process's LISTEN loop (EngineProcess), read before each step.
    public var cancels = CancelSignal()

    public init(log: Logger = Logger(label: "blacklight"), retryBaseDelay: Double = 1, maxRetryDelay: Double = 300) {
        self.log = log
        self.retryBaseDelay = retryBaseDelay
        self.maxRetryDelay = maxRetryDelay
    }
}
