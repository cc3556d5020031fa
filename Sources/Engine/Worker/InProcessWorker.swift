import Foundation
import PGStore

/// A worker driven by the caller instead of a thread: tests, the REPL and benchmarks use it to run
/// due work deterministically in the current thread.
public final class InProcessWorker {
    let worker: Worker
    let url: String
    private var conn: PGConnection?

    public init(url: String, settings: WorkerSettings = WorkerSettings(), services: HostServices = HostServices()) {
        self.url = url
        self.worker = Worker(url: url, settings: settings, services: services,
                             leases: LeaseKeeper(ownerID: "in-process-\(getpid())", leaseSeconds: settings.leaseSeconds),
                             wake: WakeSignal(), stop: StopFlag())
    }

    /// Claims and executes one batch; returns how many runs it claimed.
    @discardableResult
    public func runBatch() throws -> Int {
        if conn == nil || conn?.isOpen == false { conn = try PGConnection(url: url) }
        return try worker.processBatch(conn!)
    }

    /// Runs batches until nothing is due now; returns the number of runs processed.
    @discardableResult
    public func drain(maxBatches: Int = 1000) throws -> Int {
        var total = 0
        for _ in 0..<maxBatches {
            let n = try runBatch()
            if n == 0 { break }
            total += n
        }
        return total
    }

    deinit { conn?.close() }
}
