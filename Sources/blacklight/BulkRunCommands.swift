import ArgumentParser
import BlacklightCore
import Engine
import Foundation

/// The filters of `blacklight runs cancel|replay`, as `GET /api/runs` takes them.
struct RunFilterOptions: ParsableArguments {
    @Option(name: .customLong("function"), help: "Only this function id.") var function: String?
    @Option(help: "Only these statuses, comma-separated (queued, running, sleeping, waiting, completed, failed, cancelled).")
    var status: String?
    @Option(help: "Only runs started by an event with this name.") var event: String?
    @Option(help: "Only runs created at or after this time (2026-11-01, 2026-11-01T12:00:00Z, or ms since 1970; UTC).")
    var since: String?
    @Option(help: "Only runs created before this time.") var until: String?
    @Flag(help: "Only count the runs it would take.") var dryRun = false

    func filter() throws -> RunFilter {
        let f: RunFilter
        do {
            f = try RunFilter.parse(function: function, status: status, event: event, since: since, until: until)
        } catch let error as EngineError {
            throw ValidationError(error.message)
        }
        if f.isEmpty { throw ValidationError("name at least one filter (--function, --status, --event, --since, --until)") }
        return f
    }
}

/// `blacklight runs cancel`: cancels every matching run that has not ended (a running one at its next step).
struct CancelRunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel every matching run that has not ended (running runs at their next step).")
    @OptionGroup var project: ProjectOptions
    @OptionGroup var filters: RunFilterOptions

    func run() throws {
        let filter = try filters.filter()
        let db = try project.openDatabase()
        defer { db.close() }
        if filters.dryRun {
            print("would cancel \(try BulkRuns().countCancellable(filter, conn: db.conn)) runs")
            return
        }
        print("cancelled \(try BulkRuns().cancel(filter, conn: db.conn).count) runs")
    }
}

/// `blacklight runs replay`: a new run for each matching run that ended, paced.
struct ReplayRunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay", abstract: "Start a new run (same function, same event, active version) for each matching run that ended.")
    @OptionGroup var project: ProjectOptions
    @OptionGroup var filters: RunFilterOptions
    @Option(help: "Replayed runs due per second; 0 for all at once. Default: as fast as the workers have room beside new events.")
    var rate: Double?

    func validate() throws {
        if let rate, !(rate.isFinite && rate >= 0) { throw ValidationError("--rate must be a number of runs per second, or 0 for no pacing") }
    }

    func run() throws {
        let filter = try filters.filter()
        let db = try project.openDatabase()
        defer { db.close() }
        if filters.dryRun {
            print("would replay \(try BulkRuns().countReplayable(filter, conn: db.conn)) runs")
            return
        }
        let pace: BulkRuns.Pace = rate.map { $0 == 0 ? .allAtOnce : .perSecond($0) } ?? .spareCapacity
        let outcome = try BulkRuns().replay(filter, pace: pace, conn: db.conn)
        if let spread = outcome.spreadSeconds, let rate, outcome.count > 1 {
            print(String(format: "replayed %d runs, due over %.1f s (%g a second)", outcome.count, spread, rate))
        } else if pace == .spareCapacity {
            print("replayed \(outcome.count) runs (they start as the workers have room beside new events)")
        } else {
            print("replayed \(outcome.count) runs")
        }
    }
}
