import Dispatch
import Hummingbird
import Logging
import ServiceLifecycle

/// An application run from code (tests, benchmarks) and stopped the way `serve` stops on SIGTERM.
///
/// Cancelling the task that runs an application is not a safe way to stop it: Hummingbird's accept loop then ends
/// with accepted connections still buffered, and NIO traps when their writers are released unfinished ("Deinited
/// NIOAsyncWriter without calling finish()", the same trap as swift-server/swift-http-server#137). It took down a
/// whole test process. A graceful shutdown lets the server drain those connections first.
public final class RunningServer: Sendable {
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    public init(_ app: some ApplicationProtocol, logger: Logger) {
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        self.group = group
        task = Task { try await group.run() }
    }

    /// Ends when the application ends; throws the error it ended with (a port it could not bind, say).
    public func wait() async throws {
        try await task.value
    }

    /// Shuts the application down gracefully and waits for it. If that takes longer than `cancelAfter` seconds (a
    /// client holding a request open), the run is cancelled: a bound against hanging, not the normal path.
    public func stop(cancelAfter seconds: Double = 30) async {
        await group.triggerGracefulShutdown()
        let task = self.task
        let watchdog = Task {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            task.cancel()
        }
        _ = try? await task.value
        watchdog.cancel()
    }

    /// `stop()` for callers outside Swift concurrency (the CLI's benchmarks): blocks the calling thread until the
    /// application has stopped. Must not be called from the cooperative pool.
    public func stopBlocking() {
        let done = DispatchSemaphore(value: 0)
        Task.detached { [self] in
            await stop()
            done.signal()
        }
        done.wait()
    }
}
