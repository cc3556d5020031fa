import BlacklightCore
import Foundation
import LuaHost
import Logging
import PGStore

/// Settings of the worker pool.
public struct WorkerSettings: Sendable {
    /// Runs claimed (and committed) together; see Batch for why.
    public var batchSize = 100
    /// Lease of a claimed run; a crashed worker's runs are claimable again after it.
    public var leaseSeconds = 30.0
    /// Longest idle wait between polls; NOTIFY usually wakes workers sooner.
    public var pollInterval = 1.0
    /// A batch transaction is committed early once it has run this long, so long steps do not hold
    /// other runs' results back.
    public var maxBatchSeconds = 0.25
    public var limits = LuaVM.Limits()
    /// Time, log, output and query-size limits of each run.
    public var runLimits = RunLimits()
    /// Lua states kept per worker thread (one per function version), least recently used evicted first.
    public var cachedVersions = 32
    /// Calls to Inngest SDK apps (http functions): signing key, per-request timeout.
    public var http = HTTPFunctionSettings()

    public init() {}
}

/// One worker thread: claims batches of due runs and executes them. Owns one connection and its VMs.
final class Worker {
    let url: String
    let settings: WorkerSettings
    let services: HostServices
    let leases: LeaseKeeper
    let wake: WakeSignal
    let stop: StopFlag
    private var conn: PGConnection?
    private var cache: VersionCache
    private let executor: Executor
    let http: HTTPRunner
    private var backoff: IdleBackoff
    let stats = WorkerStats()

    init(url: String, settings: WorkerSettings, services: HostServices, leases: LeaseKeeper, wake: WakeSignal, stop: StopFlag) {
        self.url = url
        self.settings = settings
        self.services = services
        self.leases = leases
        self.wake = wake
        self.stop = stop
        self.cache = VersionCache(services: services, limits: settings.limits, capacity: settings.cachedVersions)
        self.executor = Executor(services: services)
        self.http = HTTPRunner(services: services, settings: settings.http, limits: settings.runLimits)
        self.backoff = IdleBackoff(maximum: settings.pollInterval)
    }

    func run() {
        while !stop.isStopped {
            do {
                let conn = try connection()
                try releaseUnstarted(conn)
                let processed = try processBatch(conn)
                if processed == 0 {
                    let due = (try? conn.query(ClaimQueries.nextDue).rows.first?["wait"].doubleValue) ?? nil
                    let wait = backoff.waitAfterEmptyClaim(dueIn: due)
                    stats.wentIdle(for: wait)
                    wake.wait(timeout: wait)
                } else {
                    backoff.claimed()
                }
            } catch {
                services.log.error("worker: \(error)")
                conn?.close()
                conn = nil
                cache = VersionCache(services: services, limits: settings.limits, capacity: settings.cachedVersions)
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        conn?.close()
    }

    /// Claimed runs a failed batch never started, waiting for a connection to be released on.
    private var unreleased: [(ids: [String], token: String)] = []

    private func releaseUnstarted(_ conn: PGConnection) throws {
        while let next = unreleased.first {
            try conn.exec(ClaimQueries.releaseUnstarted, [.array(next.ids.map { .text($0) }), .text(next.token)])
            unreleased.removeFirst()
        }
    }

    private func connection() throws -> PGConnection {
        if let conn, conn.isOpen { return conn }
        let c = try PGConnection(url: url)
        conn = c
        return c
    }

    /// Claims up to batchSize runs (a committed claim, see ClaimQueries.claim) and executes them in one
    /// transaction. Returns how many it claimed.
    func processBatch(_ conn: PGConnection) throws -> Int {
        let fence = Fence(token: leases.newToken(), seconds: settings.leaseSeconds)
        // Before the claim: a cancel heard from here on may concern a run this claim takes.
        let cancelGeneration = services.cancels.generation
        let claimed = try claim(conn, token: fence.token)
        if claimed.isEmpty { return 0 }
        let live = claimed.filter { !$0.poisoned }
        let ids = live.map(\.id)
        leases.hold(ids, token: fence.token)
        defer { leases.release(ids) }
        var heldLocks: [(Int32, Int32)] = []
        defer {
            for (a, b) in heldLocks { _ = try? conn.exec("SELECT pg_advisory_unlock($1::int, $2::int)", [.int(Int64(a)), .int(Int64(b))]) }
        }
        let batch = Batch(conn: conn, fence: fence)
        batch.statementTimeout = settings.runLimits.stepTimeout
        batch.log = services.log
        batch.pending = Set(ids)
        batch.cancelGeneration = cancelGeneration
        // The claim has committed: first starts, and runs that stalled their worker in every attempt (failed by
        // the claim itself), count now; what the batch does counts when it commits.
        var claims = RunTally()
        for claim in claimed {
            batch.functionOf[claim.id] = claim.functionID
            if claim.firstStart { claims.started(function: claim.functionID) }
            if claim.poisoned { claims.recorded(function: claim.functionID, status: .failed, retry: false) }
        }
        claims.report()
        var started: Set<String> = []
        do {
            try batch.begin()
            for poisoned in claimed where poisoned.poisoned { try startFailureHandlerIfDeclared(poisoned, batch: batch) }
            let memos = try loadMemos(conn, ids: ids)
            let startedAt = Date()
            for claim in live {
                if Date().timeIntervalSince(startedAt) > settings.maxBatchSeconds { try batch.checkpoint() }
                guard batch.pending.contains(claim.id) else { continue }  // another worker took it over
                started.insert(claim.id)
                try execute(claim, memos: memos[claim.id] ?? [:], batch: batch, heldLocks: &heldLocks)
                batch.pending.remove(claim.id)
            }
            try batch.commit()
        } catch {
            batch.rollback()
            let unstarted = ids.filter { !started.contains($0) }
            if !unstarted.isEmpty {
                do {
                    try conn.exec(ClaimQueries.releaseUnstarted, [.array(unstarted.map { .text($0) }), .text(fence.token)])
                } catch {
                    // The connection is gone (a restart, a cut): release them once reconnected, before their lease
                    // expires and the next claim counts an attempt for runs that never started.
                    unreleased.append((ids: unstarted, token: fence.token))
                }
            }
            throw error
        }
        return claimed.count
    }

    /// A run whose function version cannot be loaded fails at once with the reason (the same for Lua and http runs).
    func failUnloadable(_ claim: ClaimedRun, _ error: Error, batch: Batch) {
        batch.runs.append(RunRecord(id: claim.id, status: .failed, runAt: Date(), attempt: claim.attempt, output: nil,
                                    error: .object(["message": .string("\(error)")]), endedAt: Date()))
        batch.tally.recorded(function: claim.functionID, status: .failed, retry: false)
    }

    /// What every run passes before its code runs, Lua or http: the start rules (startRefusal records the refusal)
    /// and its concurrency slot. False when the run is not to execute now (refused, or every slot busy: it stays
    /// queued and is looked at again shortly).
    func admit(_ claim: ClaimedRun, definition: WorkflowDefinition, batch: Batch, heldLocks: inout [(Int32, Int32)]) throws -> Bool {
        if let refused = startRefusal(claim, definition: definition) {
            batch.runs.append(refused)
            batch.tally.recorded(function: claim.functionID, status: refused.status, retry: false)
            logOutcome(claim, refused)
            return false
        }
        if let key = claim.concurrencyKey, let limit = definition.concurrencyLimit {
            guard let slot = try acquireSlot(batch.conn, key: key, limit: limit) else {
                batch.runs.append(RunRecord(id: claim.id, status: .queued, runAt: Date().addingTimeInterval(0.2),
                                            attempt: claim.attempt, output: nil, error: nil, endedAt: nil))
                return false
            }
            heldLocks.append(slot)
        }
        return true
    }

    private func execute(_ claim: ClaimedRun, memos: [String: StepMemo], batch: Batch, heldLocks: inout [(Int32, Int32)]) throws {
        if claim.version.hasPrefix(HTTPFunction.versionPrefix) { return try executeHTTP(claim, batch: batch, heldLocks: &heldLocks) }
        let wvm: WorkflowVM
        do {
            wvm = try cache.vm(function: claim.functionID, version: claim.version, conn: batch.conn)
        } catch {
            return failUnloadable(claim, error, batch: batch)
        }
        guard try admit(claim, definition: wvm.definition, batch: batch, heldLocks: &heldLocks) else { return }
        let run = RunExecution(claim: claim, memos: memos)
        let context = RunContext(run: run, batch: batch, limits: settings.runLimits,
                                 runDeadline: Self.runDeadline(claim, definition: wvm.definition))
        let outcome = executor.execute(context, in: wvm)
        if context.usedSQL, batch.inTransaction {
            // Whatever the script changed in the session (set_config, SET LOCAL) must not reach the next run.
            try batch.conn.resetSession(then: "SET LOCAL statement_timeout = \(Batch.milliseconds(settings.runLimits.stepTimeout))")
        }
        if outcome.discardVM { cache.discard(function: claim.functionID, version: claim.version) }
        if outcome.leaseLost { return }
        batch.runs.append(outcome.record)
        batch.tally.recorded(function: claim.functionID, status: outcome.record.status, retry: outcome.record.attempt > claim.attempt)
        logOutcome(claim, outcome.record)
        if outcome.record.status == .queued, outcome.record.runAt.timeIntervalSinceNow < 0.01 { batch.wantsWakeup = true }
        if outcome.startFailureHandler != nil {
            // The parent's error is read by the handler's claim; flush so it is there.
            try batch.flush()
            try batch.conn.exec(ClaimQueries.startFailureHandler, [.text(claim.id)])
            batch.wantsWakeup = true
        }
    }

    /// `timeouts.start`: a run that waited longer than that for its first start is cancelled instead of started,
    /// and a run past `timeouts.run` fails without running again.
    func startRefusal(_ claim: ClaimedRun, definition: WorkflowDefinition) -> RunRecord? {
        let now = Date()
        if claim.firstStart, let start = definition.timeouts.start, now.timeIntervalSince(claim.createdAt) > start {
            let message = "the run did not start within \(DurationText.format(start)) of being queued (timeouts.start); it was cancelled"
            return RunRecord(id: claim.id, status: .cancelled, runAt: now, attempt: claim.attempt, output: nil,
                             error: .object(["message": .string(message), "timeout": .string("start")]), endedAt: now)
        }
        if let deadline = Self.runDeadline(claim, definition: definition), deadline <= now, let limit = definition.timeouts.run {
            let message = "the run timed out after \(DurationText.format(limit)) (timeouts.run)"
            return RunRecord(id: claim.id, status: .failed, runAt: now, attempt: claim.attempt, output: nil,
                             error: .object(["message": .string(message), "timeout": .string("run")]), endedAt: now)
        }
        return nil
    }

    static func runDeadline(_ claim: ClaimedRun, definition: WorkflowDefinition) -> Date? {
        guard let limit = definition.timeouts.run else { return nil }
        return (claim.startedAt ?? Date()).addingTimeInterval(limit)
    }

    /// A run failed by the claim (it stalled its workers in every attempt) still gets its `on_failure` handler.
    private func startFailureHandlerIfDeclared(_ claim: ClaimedRun, batch: Batch) throws {
        let meta: Logger.Metadata = ["run_id": "\(claim.id)", "function": "\(claim.functionID)", "attempt": "\(claim.attempt)"]
        services.log.error("run failed: it stopped its worker in every attempt", metadata: meta)
        guard claim.kind == "run", let wvm = try? cache.vm(function: claim.functionID, version: claim.version, conn: batch.conn),
              wvm.onFailure != nil else { return }
        try batch.conn.exec(ClaimQueries.startFailureHandler, [.text(claim.id)])
        batch.wantsWakeup = true
    }

    /// Structured log lines with the run id: failures at error/warning, the rest at debug (a line per run
    /// at info would dominate the cost at thousands of runs per second).
    func logOutcome(_ claim: ClaimedRun, _ record: RunRecord) {
        var meta: Logger.Metadata = ["run_id": "\(claim.id)", "function": "\(claim.functionID)", "attempt": "\(claim.attempt)",
                                     "status": "\(record.status.rawValue)"]
        if let message = record.error?["message"]?.stringValue { meta["error"] = "\(message)" }
        switch record.status {
        case .failed: services.log.error("run failed", metadata: meta)
        case .queued where record.attempt > claim.attempt: services.log.warning("run attempt failed, retrying", metadata: meta)
        default: services.log.debug("run \(record.status.rawValue)", metadata: meta)
        }
    }

    /// Concurrency slots are session advisory locks: they survive the batch's commits and vanish
    /// with the connection if the worker dies, so a crash never leaks a slot.
    func acquireSlot(_ conn: PGConnection, key: String, limit: Int) throws -> (Int32, Int32)? {
        let hash = try conn.query("SELECT hashtext($1) AS h", [.text("blacklight.concurrency:" + key)]).rows.first?["h"].intValue ?? 0
        for slot in 0..<limit {
            let ok = try conn.query("SELECT pg_try_advisory_lock($1::int, $2::int) AS ok", [.int(hash), .int(Int64(slot))])
                .rows.first?["ok"].boolValue ?? false
            if ok { return (Int32(truncatingIfNeeded: hash), Int32(slot)) }
        }
        return nil
    }

    private func claim(_ conn: PGConnection, token: String) throws -> [ClaimedRun] {
        stats.claimAttempted()
        let result = try conn.query(ClaimQueries.claim, [.int(Int64(settings.batchSize)), .text(token), .double(settings.leaseSeconds)])
        return try ClaimedRun.claimed(result.rows, conn: conn).sorted { $0.id < $1.id }
    }

    private func loadMemos(_ conn: PGConnection, ids: [String]) throws -> [String: [String: StepMemo]] {
        let result = try conn.query(ClaimQueries.memos, [.array(ids.map { .text($0) })])
        var out: [String: [String: StepMemo]] = [:]
        for row in result.rows {
            guard let run = row["run_id"].stringValue, let key = row["key"].stringValue,
                  let status = StepMemo.Status(rawValue: row["status"].stringValue ?? "") else { continue }
            let output = row["output"].jsonText.flatMap { try? JSONValue.parse($0) }
            out[run, default: [:]][key] = StepMemo(status: status, output: output, wakeAt: row["wake_at"].dateValue,
                                                   attempts: Int(row["attempts"].intValue ?? 1))
        }
        return out
    }
}
