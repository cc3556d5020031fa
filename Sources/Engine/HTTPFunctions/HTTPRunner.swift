import BlacklightCore
import Foundation
import Logging
import PGStore

/// How workers call SDK apps.
public struct HTTPFunctionSettings: Sendable {
    /// Signs requests to apps and checks their answers (`INNGEST_SIGNING_KEY`); nil in dev, where SDKs sign nothing.
    public var signingKey: String?
    /// Longest wait for one answer of an app; past it the attempt fails and is retried with the run's backoff.
    public var requestTimeout: Double = 120
    /// A run that keeps completing steps gives its worker back after this long (it is queued again at once), so one
    /// long run does not hold the other runs of its batch.
    public var maxSliceSeconds: Double = 10

    public init(signingKey: String? = ProcessInfo.processInfo.environment["INNGEST_SIGNING_KEY"].flatMap { $0.isEmpty ? nil : $0 }) {
        self.signingKey = signingKey
    }
}

/// Drives one claimed run of an http function by calling its app the way Inngest's executor does, and stores what
/// the app answers with the engine's own rules: a step's output is a memo in blacklight.steps, committed before the
/// app is called again (so a memoized step never runs twice, whatever crashes); sleeps, waits and invokes park the
/// run as Lua runs park; failures retry with the run's backoff. The batch transaction is committed before each call
/// and begun again after it (re-locking the runs the batch holds, as after a `transaction = false` step), so no
/// transaction stays open while the app works, and a worker whose lease was taken meanwhile writes nothing.
final class HTTPRunner {
    let services: HostServices
    let settings: HTTPFunctionSettings
    let limits: RunLimits
    /// Made on first use: a worker that never runs an http function opens no URL session.
    private lazy var client = AppClient(timeout: settings.requestTimeout)
    private var functions: [String: HTTPFunction] = [:]

    init(services: HostServices, settings: HTTPFunctionSettings, limits: RunLimits) {
        self.services = services
        self.settings = settings
        self.limits = limits
    }

    /// The function version a run is pinned to (cached: versions never change).
    func function(_ claim: ClaimedRun, conn: PGConnection) throws -> HTTPFunction {
        let key = claim.functionID + "@" + claim.version
        if let fn = functions[key] { return fn }
        let row = try conn.query("SELECT config FROM blacklight.function_versions WHERE function_id = $1 AND hash = $2",
                                 [.text(claim.functionID), .text(claim.version)]).rows.first
        guard let raw = row?["config"].jsonText, let fn = HTTPFunction(config: try JSONValue.parse(raw)) else {
            throw EngineError(.notFound, "version \(claim.version) of http function '\(claim.functionID)' is not in the database")
        }
        if functions.count > 256 { functions.removeAll() }
        functions[key] = fn
        return fn
    }

    /// Why the loop stopped: the run's next state, or nothing to write (the lease was lost).
    enum Stop: Error {
        case record(RunRecord)
        case leaseLost
    }

    /// The run's new state, or nil when another worker took the run over (nothing may be written for it).
    func execute(_ claim: ClaimedRun, function fn: HTTPFunction, batch: Batch) throws -> RunRecord? {
        var run = HTTPRunState(claim: claim, function: fn, steps: try HTTPStep.load(run: claim.id, conn: batch.conn))
        run.events = [claim.event]
        if fn.definition.flow.batchEvents != nil, claim.kind == "run" {
            run.events = try Executor.batchEvents(of: claim.id, conn: batch.conn)
        }
        let started = Date()
        // A REST cancel ends a running run at once (the next re-lock finds it gone); cancel requests (cancel_on,
        // singleton cancel) wait for the batch, so only functions that can get one ask before each call, as Lua runs do.
        let flow = fn.definition.flow
        let watchesCancel = !flow.cancelOn.isEmpty || flow.singleton?.mode == .cancel
        do {
            while true {
                if watchesCancel { try checkCancelled(run, batch: batch) }
                try resolveParked(&run, batch: batch)
                if Date().timeIntervalSince(started) > settings.maxSliceSeconds {
                    throw Stop.record(RunRecord(id: claim.id, status: .queued, runAt: Date(), attempt: claim.attempt,
                                                output: nil, error: nil, endedAt: nil))
                }
                let reply = try call(run, target: nil, batch: batch)
                switch reply {
                case .finished(let output):
                    if output.serialized().utf8.count > limits.outputBytes {
                        throw Stop.record(fail(claim, error: .object(["message": .string(
                            "the function returned \(output.serialized().utf8.count) bytes of JSON, over the \(limits.outputBytes)-byte output limit")]),
                            retry: false, at: nil))
                    }
                    throw Stop.record(RunRecord(id: claim.id, status: .completed, runAt: Date(), attempt: claim.attempt,
                                                output: output, error: nil, endedAt: Date()))
                case .failed(let error, let retry, let at):
                    throw Stop.record(fail(claim, error: error, retry: retry, at: at))
                case .ops(let ops):
                    try apply(ops, run: &run, batch: batch, allowPlanned: true)
                }
            }
        } catch let stop as Stop {
            switch stop {
            case .record(let record): return record
            case .leaseLost: return nil
            }
        }
    }

    /// One call to the app: commits what is pending first (the memos the app is about to be sent must be durable
    /// before it acts on them), calls without a transaction open, then begins the next transaction under the fence.
    func call(_ run: HTTPRunState, target: String?, batch: Batch) throws -> SDKReply {
        let body = Array(SDKRequest.body(claim: run.claim, events: run.events, steps: run.steps).canonicalized().utf8)
        guard let url = Self.url(run.function.url, target: target) else {
            throw Stop.record(fail(run.claim, error: .object(["message": .string("the function's URL '\(run.function.url)' is not valid")]),
                                   retry: false, at: nil))
        }
        var headers = ["Content-Type": "application/json", "X-Inngest-Server-Kind": settings.signingKey == nil ? "dev" : "cloud",
                       "User-Agent": "blacklight", "X-Inngest-Req-Version": "1"]
        if let key = settings.signingKey { headers["X-Inngest-Signature"] = InngestSignature.sign(body, key: key) }
        try batch.commit()
        let reply: SDKReply
        do {
            let sent = Date()
            let answer = try client.post(url, body: body, headers: headers)
            AppCallClock.add(Date().timeIntervalSince(sent))
            reply = SDKReply.read(answer, signingKey: settings.signingKey, url: run.function.url)
        } catch {
            reply = .failed(error: .object(["message": .string(error.description)]), retry: true, retryAt: nil)
        }
        if case .failed(let error, _, _) = reply, error["name"]?.stringValue == "SignatureError" {
            services.log.error("\(error["message"]?.stringValue ?? "signature refused")",
                               metadata: ["run_id": "\(run.claim.id)", "function": "\(run.claim.functionID)"])
        }
        try batch.begin()
        if batch.lost.contains(run.claim.id) { throw Stop.leaseLost }
        return reply
    }

    /// The function's URL, with `stepId` naming the step to run (a planned parallel step) instead of `step`.
    static func url(_ base: String, target: String?) -> URL? {
        guard var parts = URLComponents(string: base) else { return nil }
        var items = parts.queryItems ?? []
        items.removeAll { $0.name == "stepId" }
        items.append(URLQueryItem(name: "stepId", value: target ?? "step"))
        parts.queryItems = items
        return parts.url
    }

    /// A failed attempt: retried with the run's backoff (or at the app's `retry-after`) while attempts are left.
    func fail(_ claim: ClaimedRun, error: JSONValue, retry: Bool, at: Date?) -> RunRecord {
        let now = Date()
        var delay: Double?
        if retry {
            if let at {
                delay = claim.attempt < claim.maxAttempts ? max(0, at.timeIntervalSince(now)) : nil
            } else {
                let policy = RetryPolicy(retries: claim.maxAttempts - 1, baseDelay: services.retryBaseDelay, maxDelay: services.maxRetryDelay)
                delay = policy.delayAfterFailure(attempt: claim.attempt, random: Double.random(in: 0..<1))
            }
        }
        if let delay {
            return RunRecord(id: claim.id, status: .queued, runAt: now.addingTimeInterval(delay), attempt: claim.attempt + 1,
                             output: nil, error: error, endedAt: nil)
        }
        return RunRecord(id: claim.id, status: .failed, runAt: now, attempt: claim.attempt, output: nil, error: error, endedAt: now)
    }

    /// A cancel that reached the run while this worker held it (REST, cancel_on, singleton): no further call.
    private func checkCancelled(_ run: HTTPRunState, batch: Batch) throws {
        let found = try batch.conn.query("SELECT error FROM blacklight.cancel_requests WHERE run_id = $1", [.text(run.claim.id)])
        guard let row = found.rows.first else { return }
        let reason = row["error"].jsonText.flatMap { try? JSONValue.parse($0) } ?? .object(["message": .string("cancelled")])
        throw Stop.record(RunRecord(id: run.claim.id, status: .cancelled, runAt: Date(), attempt: run.claim.attempt,
                                    output: nil, error: reason, endedAt: Date()))
    }
}

/// An http run while a worker drives it: its claim, function, events and steps as stored so far.
struct HTTPRunState {
    let claim: ClaimedRun
    let function: HTTPFunction
    var steps: [HTTPStep]
    var events: [JSONValue] = []

    init(claim: ClaimedRun, function: HTTPFunction, steps: [HTTPStep]) {
        self.claim = claim
        self.function = function
        self.steps = steps
    }

    var nextSeq: Int { (steps.map(\.seq).max() ?? 0) + 1 }

    func step(_ key: String) -> HTTPStep? { steps.first { $0.key == key } }

    /// Keeps `step` in memory (the next request carries it) and buffers its row for the batch's next commit.
    mutating func record(_ step: HTTPStep, batch: Batch, startedAt: Date? = nil) {
        if let i = steps.firstIndex(where: { $0.key == step.key }) { steps[i] = step } else { steps.append(step) }
        let ended = ["completed", "failed"].contains(step.status) ? Date() : nil
        batch.steps.append(StepRecord(runID: claim.id, key: step.key, seq: step.seq, kind: step.kind,
                                      status: StepMemo.Status(rawValue: step.status) ?? .completed, output: step.output,
                                      error: step.error, attempts: step.attempts, startedAt: startedAt ?? Date(), endedAt: ended,
                                      wakeAt: step.wakeAt))
    }
}
