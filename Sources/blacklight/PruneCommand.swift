import ArgumentParser
import BlacklightCore
import Engine
import Foundation

/// `blacklight prune`: the retention pass `serve` runs every 10 minutes, once, now.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete history past the retention: ended runs with their steps, logs and waits, unreferenced events, "
            + "unpinned versions, expired dedupe ids and idempotency keys.")

    @OptionGroup var project: ProjectOptions
    @Option(name: .customLong("older-than"), help: "Retention: history older than this goes (e.g. 30d, 12h, 2w).")
    var olderThan = RetentionPolicy.defaultText
    @Flag(name: .customLong("dry-run"), help: "Print what would be deleted per table; delete nothing.") var dryRun = false

    func validate() throws {
        do {
            _ = try DurationParser.seconds(olderThan)
        } catch {
            throw ValidationError("--older-than: \(error.message)")
        }
    }

    func run() throws {
        let seconds = try DurationParser.seconds(olderThan)
        let db = try project.openDatabase()
        defer { db.close() }
        let pruner = Pruner()
        let cutoff = try pruner.horizons(olderThan: seconds, conn: db.conn).cutoff
        let iso = ISO8601DateFormatter().string(from: cutoff)
        if dryRun {
            let counts = try pruner.dryRun(olderThan: seconds, conn: db.conn)
            print("dry run: older than \(olderThan) (before \(iso)) would delete:")
            print(counts.table)
            print("nothing was deleted")
            return
        }
        let started = Date()
        let counts = try pruner.prune(olderThan: seconds, conn: db.conn)
        print("deleted (older than \(olderThan), before \(iso)):")
        print(counts.table)
        print(String(format: "%d rows in %.1f s", counts.total, Date().timeIntervalSince(started)))
    }
}
