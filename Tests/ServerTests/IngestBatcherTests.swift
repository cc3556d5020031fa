import BlacklightCore
import Engine
import Foundation
import PGStore
@testable import Server
import Testing
import TestSupport

/// The event API's batcher against a real database whose `events` table a test transaction holds locked, so a call
/// is in flight for as long as the test wants.
@Suite("IngestBatcher", .serialized)
struct IngestBatcherTests {
    /// Backends of the test's database waiting for a lock in an ingest call, but for `$1` (one terminated already:
    /// it stays listed for a moment while it exits).
    static let waiting = """
        SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%ingest_events%' AND pid <> $1
        """

    /// `Poll.until` on a thread of its own, with its own connection: blocking a cooperative thread here would starve
    /// the batcher's tasks that the condition waits for (there are as many of those threads as cores, here 2).
    static func wait(_ what: String, url: String, _ condition: @escaping @Sendable (PGConnection) throws -> Bool) async throws {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, Error>) in
            Thread.detachNewThread {
                do {
                    let conn = try PGConnection(url: url)
                    defer { conn.close() }
                    try Poll.until(what) { try condition(conn) }
                    cont.resume()
                } catch {
                    cont.resume(throwing: error)
                }
            }
        }
    }

    static func events(_ n: Int, _ name: String) -> ([EventStore.Event], [String]) {
        let seed = EventIDSeed.random()
        return ((0..<n).map { _ in EventStore.Event(name: name) }, (0..<n).map(seed.id(at:)))
    }

    @Test("while a call is in flight, requests queue up to the limit and the next one is refused with nothing stored")
    func queueIsBoundedWhileACallIsInFlight() async throws {
        let url = try TestDatabase.fresh(prepare: { conn in _ = try EngineMigrations.migrator().migrate(conn) }, templateKey: "engine")
        let pool = DatabasePool(url: url, size: 4)
        defer { pool.close() }
        let batcher = IngestBatcher(pool: pool, maxInFlight: 1, maxQueuedEvents: 2)
        let blocker = try PGConnection(url: url)
        defer { blocker.close() }
        try blocker.execScript("BEGIN; LOCK TABLE blacklight.events IN EXCLUSIVE MODE")

        let (a, aIDs) = Self.events(1, "queue/in-flight")
        let first = Task { try await batcher.ingest(a, ids: aIDs) }
        try await Self.wait("the first call to wait for the locked table", url: url) { try $0.query(Self.waiting, [.int(0)]).rows.count == 1 }
        let (b, bIDs) = Self.events(2, "queue/queued")
        let second = Task { try await batcher.ingest(b, ids: bIDs) }
        try await Self.wait("the second request to be queued", url: url) { _ in batcher.queuedEvents == 2 }

        let (c, cIDs) = Self.events(1, "queue/refused")
        let refused = await #expect(throws: APIError.self) { try await batcher.ingest(c, ids: cIDs) }
        #expect(refused?.status == .serviceUnavailable)
        #expect(refused?.retryAfter == 1)
        #expect(batcher.queuedEvents == 2)

        try blocker.execScript("COMMIT")
        #expect(try await first.value == aIDs)
        #expect(try await second.value == bIDs)
        let names = try blocker.query("SELECT name, count(*) AS n FROM blacklight.events GROUP BY name ORDER BY name").rows
            .map { "\($0["name"].stringValue ?? "")=\($0["n"].intValue ?? 0)" }
        #expect(names == ["queue/in-flight=1", "queue/queued=2"])
    }
}
