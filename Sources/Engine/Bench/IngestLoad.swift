import BlacklightCore
import Foundation
import PGStore

/// Single-event ingests at a steady rate on their own connection, as an app sends them, timed one by
/// one while `body` runs (another benchmark's work).
struct IngestLoad {
    struct Result {
        var latencies: [Double]
        var seconds: Double
        var perCall = 1

        /// `1000 events at 200/s: p50 1.2 ms, p99 4.5 ms, max 9.8 ms`.
        var summary: String {
            let sorted = latencies.sorted()
            func pct(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
            if perCall > 1 {
                return String(format: "%d events in %d ingests of %d at %.0f events/s: per ingest p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                              sorted.count * perCall, sorted.count, perCall, Double(sorted.count * perCall) / max(seconds, 0.001),
                              pct(0.5), pct(0.99), sorted.last ?? 0)
            }
            return String(format: "%d single-event ingests at %.0f/s: p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                          sorted.count, Double(sorted.count) / max(seconds, 0.001), pct(0.5), pct(0.99), sorted.last ?? 0)
        }
    }

    /// Box shared between the load thread and the caller.
    private final class Shared: @unchecked Sendable {
        let lock = NSLock()
        var latencies: [Double] = []
        var error: Error?

        func fail(_ e: Error) {
            lock.lock()
            error = e
            lock.unlock()
        }
    }

    /// `event` and `data(i)` name and fill the i-th event (the defaults are `bench prune`'s).
    /// `connections` senders share the rate (the i-th event goes to connection i mod n, at the same due times), for
    /// rates one connection's round trips cannot keep.
    /// `perCall` events go in each ingest call (one transaction), for event rates that one event per transaction
    /// cannot reach on a loaded machine; the latencies are then per call.
    static func measure(url: String, rate: Int, connections: Int = 1, perCall: Int = 1, event: String = "bench/prune",
                        data: @escaping @Sendable (Int) -> JSONValue = { .object(["n": .int(Int64($0))]) },
                        during body: () throws -> Void) throws -> Result {
        let shared = Shared()
        let stop = StopFlag()
        let done = DispatchSemaphore(value: 0)
        let interval = 1.0 / Double(max(1, rate))
        let started = Date()
        let senders = max(1, connections)
        let group = max(1, perCall)
        for first in 0..<senders { Thread.detachNewThread {
            defer { done.signal() }
            let conn: PGConnection
            do {
                conn = try PGConnection(url: url)
            } catch {
                shared.fail(error)
                return
            }
            defer { conn.close() }
            var i = first * group
            while !stop.isStopped {
                let due = started.addingTimeInterval(Double(i) * interval)
                if due.timeIntervalSinceNow > 0 { Thread.sleep(forTimeInterval: due.timeIntervalSinceNow) }
                let t0 = Date()
                do {
                    _ = try EventStore().send((i..<(i + group)).map { EventStore.Event(name: event, data: data($0)) }, conn: conn)
                } catch {
                    shared.fail(error)
                    return
                }
                let ms = Date().timeIntervalSince(t0) * 1000
                shared.lock.lock()
                shared.latencies.append(ms)
                shared.lock.unlock()
                i += senders * group
            }
        } }
        var failure: Error?
        do { try body() } catch { failure = error }
        stop.stop()
        for _ in 0..<senders { done.wait() }
        if let failure { throw failure }
        shared.lock.lock()
        defer { shared.lock.unlock() }
        if let error = shared.error { throw error }
        return Result(latencies: shared.latencies, seconds: Date().timeIntervalSince(started), perCall: group)
    }
}
