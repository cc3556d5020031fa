import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

/// blacklight.ingest_events (0002_bulk_ingest.sql) keeps ingest_event's semantics for a whole batch.
@Suite("Bulk ingest")
struct BulkIngestTests {
    func sendBatch(_ h: Harness, _ events: [(String, JSONValue, String?)]) throws -> [String] {
        try EventStore().send(events.map { EventStore.Event(name: $0.0, data: $0.1, id: $0.2) }, conn: h.conn)
    }

    @Test("a batch resolves a waiting run with its first matching event")
    func batchResolvesWaits() throws {
        let h = try Harness(scripts: ["w.lua": WaitSleepTests.waiter])
        try h.load()
        try h.send("test/start", ["candidate_id": 7])
        try h.drain()
        #expect(try h.onlyRun("waiter")["status"].stringValue == "waiting")
        _ = try sendBatch(h, [("test/approved", ["candidate_id": 8, "by": "other"], nil),
                              ("test/approved", ["candidate_id": 7, "by": "grace"], nil),
                              ("test/approved", ["candidate_id": 7, "by": "late"], nil)])
        try h.drain()
        #expect(h.output(try h.onlyRun("waiter")) == "approved by grace")
    }

    @Test("idempotent functions start one run per key within a batch too")
    func batchIdempotency() throws {
        let h = try Harness(scripts: ["i.lua": """
            return workflow {
              id = "once",
              triggers = { { event = "c/gen" } },
              idempotency = "event.data.candidate_id",
              run = function(ctx, step) return ctx.event.data.candidate_id end,
            }
            """])
        try h.load()
        _ = try sendBatch(h, [("c/gen", ["candidate_id": 7], nil), ("c/gen", ["candidate_id": 7], nil), ("c/gen", ["candidate_id": 8], nil)])
        #expect(try h.runs(function: "once").count == 2)
    }

    @Test("client ids deduplicate inside a batch and against earlier events; filters apply")
    func batchDedupeAndFilters() throws {
        let h = try Harness(scripts: ["f.lua": """
            return workflow {
              id = "only-x",
              triggers = { { event = "f/e", filter = { source = "x" } } },
              run = function(ctx, step) return 1 end,
            }
            """])
        try h.load()
        let first = try h.send("f/e", ["source": "x"], id: "dup")
        let ids = try sendBatch(h, [("f/e", ["source": "x"], "dup"), ("f/e", ["source": "y"], "new"), ("f/e", ["source": "x"], "new")])
        #expect(ids[0] == first)
        #expect(ids[1] == ids[2])
        #expect(try h.scalar("SELECT count(*) FROM blacklight.events").intValue == 2)
        #expect(try h.runs(function: "only-x").count == 1)
    }

    @Test("the same id twice in one call (two retries merged into one batch) stores the event once")
    func duplicateIdsInOneCall() throws {
        let h = try Harness()
        let events = [EventStore.Event(name: "d/e"), EventStore.Event(name: "d/e")]
        let ids = try EventStore().ingest(events, ids: ["01SAMEID", "01SAMEID"], conn: h.conn)
        #expect(ids == ["01SAMEID", "01SAMEID"])
        #expect(try h.scalar("SELECT count(*) FROM blacklight.events").intValue == 1)
    }

    @Test("a batch with a bad event stores nothing and names the event")
    func batchRejectsBadEvent() throws {
        let h = try Harness()
        #expect(throws: (any Error).self) {
            try h.conn.query("SELECT blacklight.ingest_events($1::text[], $2::jsonb[], $3::text[], $4::timestamptz[], $5::text[])",
                             [.array([.text("a"), .text(" ")]), .array([.text("{}"), .text("{}")]), .array([.null, .null]),
                              .array([.null, .null]), .array([.text("01A"), .text("01B")])])
        }
        #expect(try h.scalar("SELECT count(*) FROM blacklight.events").intValue == 0)
    }
}
