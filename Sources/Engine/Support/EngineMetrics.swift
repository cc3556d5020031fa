import BlacklightCore
import CoreMetrics

/// What this process did, as counters and a histogram kept while the work happens (swift-metrics), so that
/// reading them costs nothing however many runs the database holds. Each process counts its own work; a
/// Prometheus server sums the processes (`sum by (function) (rate(...))`). Where they go is up to the process:
/// `serve` and `dev` export them on `/metrics` (Server's `ProcessMetrics`); without a bootstrapped metrics system
/// (`worker`, the CLI, tests of Engine alone) swift-metrics drops them.
///
/// Handlers are looked up at each report rather than kept in statics: a static would bind to whatever factory
/// was set when it was first touched (the no-op one, in a test process that reports before any server starts).
/// The lookup is a lock and a dictionary probe in the factory, paid once per batch and function, not per run.
public enum EngineMetrics {
    public static let eventsIngested = "blacklight_events_ingested_total"
    public static let runsStarted = "blacklight_runs_started_total"
    public static let runsRetried = "blacklight_runs_retried_total"
    public static let runsCompleted = "blacklight_runs_completed_total"
    public static let runsFailed = "blacklight_runs_failed_total"
    public static let runsCancelled = "blacklight_runs_cancelled_total"
    public static let stepDuration = "blacklight_step_duration_seconds"
    /// Histogram bounds of `stepDuration`, in seconds.
    public static let stepBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

    /// Events stored through `EventStore.ingest` by this process (event API, REST API, `send`).
    static func ingested(_ count: Int) {
        if count > 0 { Counter(label: eventsIngested).increment(by: count) }
    }

    /// A run cancelled through the REST API or the dashboard (the worker counts the runs it cancels itself).
    public static func cancelled(function: String) {
        count(runsCancelled, function: function, 1)
    }

    static func count(_ label: String, function: String, _ n: Int) {
        if n > 0 { Counter(label: label, dimensions: [("function", function)]).increment(by: n) }
    }

    static func stepDurations(function: String, _ seconds: [Double]) {
        guard !seconds.isEmpty else { return }
        let timer = Timer(label: stepDuration, dimensions: [("function", function)])
        for s in seconds { timer.recordNanoseconds(Int64((max(0, min(s, 1e9)) * 1e9).rounded())) }
    }
}

/// What one worker transaction did, reported once it commits (a rolled-back batch did nothing).
struct RunTally {
    private struct PerFunction {
        var started = 0, retried = 0, completed = 0, failed = 0, cancelled = 0
        var stepSeconds: [Double] = []
    }

    private var byFunction: [String: PerFunction] = [:]

    var isEmpty: Bool { byFunction.isEmpty }

    /// A claim that starts a run for the first time.
    mutating func started(function: String) {
        byFunction[function, default: .init()].started += 1
    }

    /// The state a run is left in by its attempt: ended, or queued again for a retry.
    mutating func recorded(function: String, status: RunStatus, retry: Bool) {
        switch status {
        case .completed: byFunction[function, default: .init()].completed += 1
        case .failed: byFunction[function, default: .init()].failed += 1
        case .cancelled: byFunction[function, default: .init()].cancelled += 1
        case .queued where retry: byFunction[function, default: .init()].retried += 1
        default: break
        }
    }

    mutating func step(function: String, seconds: Double) {
        byFunction[function, default: .init()].stepSeconds.append(seconds)
    }

    func report() {
        for (function, t) in byFunction {
            EngineMetrics.count(EngineMetrics.runsStarted, function: function, t.started)
            EngineMetrics.count(EngineMetrics.runsRetried, function: function, t.retried)
            EngineMetrics.count(EngineMetrics.runsCompleted, function: function, t.completed)
            EngineMetrics.count(EngineMetrics.runsFailed, function: function, t.failed)
            EngineMetrics.count(EngineMetrics.runsCancelled, function: function, t.cancelled)
            EngineMetrics.stepDurations(function: function, t.stepSeconds)
        }
    }
}
