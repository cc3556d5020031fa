import Engine
import Foundation
import Logging
import PGStore
import Synchronization

/// Coalesces concurrent event-API requests into one `blacklight.ingest_events` call: one statement, one
/// commit, one fsync for all of them. A request is answered only after that commit, so "accepted"
/// still means durable, and the statement is all or nothing, so each request is too.
///
/// Why: measured here with pgbench (8 clients, PostgreSQL on the same 2 shared cores), one event per
/// transaction tops out at ≈2,000–2,600/s through ingest_event and ≈950/s through ingest_events
/// (its per-call planning of the set-based statements costs ≈0.9 ms and only pays off on batches), so
/// 3,000 single-event requests/s cannot be had one transaction per request. While `maxInFlight` calls
/// run, new requests queue and go together in the next call: under load the batches grow by
/// themselves, an idle server sends each request alone at once (no timer, no added latency).
/// Requests are validated before they are queued (`EventStore.Event`: NUL characters, id length, time range,
/// numbers), so a bad request never reaches a combined call and nothing of it is stored. If a combined call still
/// fails with a server error, something validation does not know of did it: its requests are retried one by one,
/// so that request fails alone. If it fails because the database is unavailable, all of them fail at once with that error:
/// retrying each would only multiply the failures (and the time the clients wait for them).
///
/// The queue is bounded (`maxQueuedEvents`): while the database is slow or away, requests beyond it are refused
/// at once with `APIError.ingestQueueFull` (a 503) instead of piling up in memory, and nothing of them is stored.
final class IngestBatcher: Sendable {
    private struct Pending {
        let events: [EventStore.Event]
        let ids: [String]
        let cont: CheckedContinuation<[String], Error>
    }

    private struct State {
        var queue: [Pending] = []
        var queuedEvents = 0
        var flushing = 0
    }

    private let pool: DatabasePool
    private let maxInFlight: Int
    private let maxEventsPerCall: Int
    private let maxQueuedEvents: Int
    private let parallelThreshold = 200
    private let state = Mutex(State())

    init(pool: DatabasePool, maxInFlight: Int, maxEventsPerCall: Int = 5_000, maxQueuedEvents: Int = 50_000) {
        self.pool = pool
        self.maxInFlight = max(1, maxInFlight)
        self.maxEventsPerCall = maxEventsPerCall
        self.maxQueuedEvents = maxQueuedEvents
    }

    /// Events waiting for a database call (not those in calls already running).
    var queuedEvents: Int { state.withLock { $0.queuedEvents } }

    /// Stores the events (with their ids) and returns the stored ids, after the commit. Throws
    /// `APIError.ingestQueueFull` when they do not fit in the queue, the PGError of the failed call otherwise.
    func ingest(_ events: [EventStore.Event], ids: [String]) async throws -> [String] {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<[String], Error>) in
            enum Admission { case refused, queued, queuedAndFlush }
            let admission = state.withLock { s -> Admission in
                if s.queuedEvents + events.count > maxQueuedEvents { return .refused }
                s.queue.append(Pending(events: events, ids: ids, cont: cont))
                s.queuedEvents += events.count
                // A second (third...) call in flight only pays when there is much to send: small requests
                // wait for the running call and go together in the next one (measured: with 16 clients of
                // single events, 1 call in flight gave 4,200 requests/s, 3 in flight 2,300; batches of 100
                // went the other way, 16,000 vs 24,000 events/s).
                guard s.flushing == 0 || (s.flushing < maxInFlight && s.queuedEvents >= parallelThreshold) else { return .queued }
                s.flushing += 1
                return .queuedAndFlush
            }
            switch admission {
            case .refused: cont.resume(throwing: APIError.ingestQueueFull)
            case .queued: break
            case .queuedAndFlush: Task { await self.flush() }
            }
        }
    }

    private func flush() async {
        while let batch = take() {
            do {
                let stored = try await pool.run { conn in
                    try EventStore().ingest(batch.flatMap(\.events), ids: batch.flatMap(\.ids), conn: conn)
                }
                var offset = 0
                for p in batch {
                    p.cont.resume(returning: Array(stored[offset..<(offset + p.events.count)]))
                    offset += p.events.count
                }
            } catch {
                if batch.count == 1 || (error as? PGError)?.isUnavailable == true {
                    for p in batch { p.cont.resume(throwing: error) }
                    continue
                }
                var lost: (any Error)?
                for p in batch {
                    if let lost {
                        p.cont.resume(throwing: lost)
                        continue
                    }
                    do {
                        let events = p.events, ids = p.ids
                        p.cont.resume(returning: try await pool.run { try EventStore().ingest(events, ids: ids, conn: $0) })
                    } catch {
                        if (error as? PGError)?.isUnavailable == true { lost = error }
                        p.cont.resume(throwing: error)
                    }
                }
            }
        }
    }

    /// The next requests to send together (at least one), or nil when the queue is empty (and then this
    /// flusher is done).
    private func take() -> [Pending]? {
        state.withLock { s -> [Pending]? in
            if s.queue.isEmpty {
                s.flushing -= 1
                return nil
            }
            var n = 0, count = 0
            while n < s.queue.count && (n == 0 || count + s.queue[n].events.count <= maxEventsPerCall) {
                count += s.queue[n].events.count
                n += 1
            }
            let batch = Array(s.queue.prefix(n))
            s.queue.removeFirst(n)
            s.queuedEvents -= count
            return batch
        }
    }
}
