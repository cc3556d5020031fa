import Foundation
import PGStore

/// Deletes history past its retention: ended runs (with their steps, logs and waits), events no
/// remaining run references, expired dedupe ids and idempotency keys, and old versions nothing pins.
/// `blacklight prune` and the pruner thread of `serve`/`dev` both call this; the SQL and the reasons
/// for its form are in `PruneQueries`.
public struct Pruner: Sendable {
    /// Runs per transaction: with a few steps and a log line each, about 5,000 rows.
    public var runChunk = 1_000
    /// Rows per transaction for the other tables.
    public var rowChunk = 5_000

    public init() {}

    /// The cutoffs of one pass, read from the database clock.
    public struct Horizons: Sendable {
        /// Ended runs, events and versions older than this go.
        public let cutoff: Date
        /// Event ids and idempotency keys older than this (24 h) go.
        public let dedupe: Date
        /// Events go only if older than this too: the cutoff, or just before the oldest live run's
        /// creation, since a wait looks for events received since its run was created.
        public let events: Date
    }

    public func horizons(olderThan seconds: Double, conn: PGConnection) throws -> Horizons {
        let row = try conn.query(PruneQueries.horizons, [.double(seconds)]).rows.first
        guard let cutoff = row?["cutoff"].dateValue, let dedupe = row?["dedupe"].dateValue else {
            throw EngineError(.database, "prune: the database did not return the cutoff")
        }
        let events = row?["live_since"].dateValue.map { min($0, cutoff) } ?? cutoff
        return Horizons(cutoff: cutoff, dedupe: dedupe, events: events)
    }

    /// Counts what `prune` would delete now, deleting nothing.
    public func dryRun(olderThan seconds: Double, conn: PGConnection) throws -> PruneCounts {
        let h = try horizons(olderThan: seconds, conn: conn)
        let row = try conn.transaction { () throws -> PGRow? in
            try conn.exec("SET LOCAL jit = off")
            return try conn.query(PruneQueries.dryRunCounts, [.timestamp(h.cutoff), .timestamp(h.events), .timestamp(h.dedupe)])
                .rows.first
        }
        var c = PruneCounts()
        c.runs = Self.int(row?["runs"])
        c.steps = Self.int(row?["steps"])
        c.logs = Self.int(row?["logs"])
        c.waits = Self.int(row?["waits"])
        c.events = Self.int(row?["events"])
        c.eventIDs = Self.int(row?["event_ids"])
        c.idempotencyKeys = Self.int(row?["idempotency"])
        c.versions = Self.int(row?["versions"])
        return c
    }

    /// Deletes in chunks of one short transaction each, runs first (so their events and versions are
    /// then unreferenced). `stop` is checked between chunks; what was deleted until then stays deleted.
    @discardableResult
    public func prune(olderThan seconds: Double, conn: PGConnection, stop: StopFlag? = nil) throws -> PruneCounts {
        let h = try horizons(olderThan: seconds, conn: conn)
        var c = PruneCounts()
        try chunks(PruneQueries.runsChunk, bound: h.cutoff, size: runChunk, conn: conn, stop: stop) { row in
            c.runs += Self.int(row["runs"])
            c.steps += Self.int(row["steps"])
            c.logs += Self.int(row["logs"])
            c.waits += Self.int(row["waits"])
            return Self.int(row["runs"])
        }
        try chunks(PruneQueries.eventsChunk, bound: h.events, size: rowChunk, conn: conn, stop: stop) { row in
            c.events += Self.int(row["n"])
            return Self.int(row["n"])
        }
        try chunks(PruneQueries.eventIDsChunk, bound: h.dedupe, size: rowChunk, conn: conn, stop: stop) { row in
            c.eventIDs += Self.int(row["n"])
            return Self.int(row["n"])
        }
        try chunks(PruneQueries.idempotencyChunk, bound: h.dedupe, size: rowChunk, conn: conn, stop: stop) { row in
            c.idempotencyKeys += Self.int(row["n"])
            return Self.int(row["n"])
        }
        try chunks(PruneQueries.versionsChunk, bound: h.cutoff, size: rowChunk, conn: conn, stop: stop) { row in
            c.versions += Self.int(row["n"])
            return Self.int(row["n"])
        }
        if stop?.isStopped != true { try conn.execScript(PruneQueries.flowState) }
        return c
    }

    /// Runs one keyset-chunked delete until a chunk deletes nothing. Each chunk returns the newest key
    /// it deleted (`last`); the next starts a millisecond before it, since a timestamp read back into a
    /// Date may round up past rows that share it.
    private func chunks(_ sql: String, bound: Date, size: Int, conn: PGConnection, stop: StopFlag?,
                        _ count: (PGRow) -> Int) throws {
        var lower: PGValue = .null
        while stop?.isStopped != true {
            let row = try conn.transaction { () throws -> PGRow? in
                try conn.exec("SET LOCAL jit = off")
                return try conn.query(sql, [.timestamp(bound), lower, .int(Int64(size))]).rows.first
            }
            guard let row, count(row) > 0, let last = row["last"].dateValue else { return }
            lower = .timestamp(last.addingTimeInterval(-0.001))
        }
    }

    private static func int(_ value: PGValue?) -> Int { Int(value?.intValue ?? 0) }
}
