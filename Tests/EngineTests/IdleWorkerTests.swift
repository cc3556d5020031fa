import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

@Suite("Idle workers")
struct IdleWorkerTests {
    /// Regression: while another worker's claim transaction held the due runs (their `run_at` still in
    /// the past to everyone else), an idle worker computed its next due time as "now", waited the 5 ms
    /// minimum and spun about 200 claim transactions a second until that batch committed.
    @Test("a worker does not spin while another worker's batch holds the due runs; a NOTIFY or the release wakes it")
    func noSpinWhileAnotherHoldsTheBatch() throws {
        let h = try Harness(scripts: ["a.lua": """
            return workflow {
              id = "a",
              triggers = { { event = "test/a" } },
              run = function(ctx, step) return step.run("one", function() return 1 end) end,
            }
            """])
        try h.load()
        _ = try EventStore().send((0..<3).map { _ in EventStore.Event(name: "test/a") }, conn: h.conn)

        // The first worker: its claim transaction, left open as it is while a batch executes.
        let holder = try PGConnection(url: h.url)
        defer { holder.close() }
        try holder.execScript("BEGIN")
        let held = try holder.query(ClaimQueries.claim, [.int(100), .text("holder"), .double(30)])
        #expect(held.rows.count == 3)

        // The second worker polls only when woken or after the poll interval, which is made long
        // enough that any retry before a wake-up would be a spin.
        var settings = h.settings
        settings.pollInterval = 3600
        let wake = WakeSignal(), stop = StopFlag()
        let worker = Worker(url: h.url, settings: settings, services: h.services,
                            leases: LeaseKeeper(ownerID: "second", leaseSeconds: 30), wake: wake, stop: stop)
        let finished = DispatchSemaphore(value: 0)
        // The worker lives on its thread; this test only reads its thread-safe stats.
        nonisolated(unsafe) let running = worker
        let thread = Thread {
            running.run()
            finished.signal()
        }
        thread.start()
        defer {
            stop.stop()
            // A broadcast sent just before the worker starts waiting is not newer than its wait: repeat it.
            while finished.wait(timeout: .now() + 0.05) == .timedOut { wake.broadcast() }
        }

        #expect(Poll.holds { worker.stats.snapshot.idleWaits >= 1 })
        var stats = worker.stats.snapshot
        #expect(stats.claimAttempts == 1)
        #expect(stats.lastIdleWait == 3600)

        // NOTIFYs for something else: one more look each, then idle again. (Broadcast until seen: one
        // sent just before the worker starts waiting would not count as newer than its wait.)
        var wakes = 0
        #expect(Poll.holds {
            wakes += 1
            wake.broadcast()
            return worker.stats.snapshot.idleWaits >= 2
        })
        stats = worker.stats.snapshot
        #expect(stats.claimAttempts >= 2 && stats.claimAttempts <= wakes + 1)
        #expect(stats.lastIdleWait == 3600)

        // The first worker dies: its batch rolls back, the runs are due again and the second takes them.
        try holder.execScript("ROLLBACK")
        #expect(try Poll.holds {
            wake.broadcast()
            return try h.scalar("SELECT count(*) FROM blacklight.runs WHERE status = 'completed'").intValue == 3
        })
    }

}
