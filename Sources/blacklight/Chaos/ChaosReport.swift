import Engine
import Foundation
import PGStore

/// What the chaos bench checks and prints, read from the database once the runs have drained.
struct ChaosReport {
    let url: String
    let acks: [ChaosLoad.Ack]
    private var ids: [String] { acks.map(\.eventID) }

    init(url: String, acks: [ChaosLoad.Ack]) throws {
        self.url = url
        self.acks = acks
    }

    /// Waits until the run of every acknowledged event has ended (or `timeout`).
    func waitForRuns(timeout: Double) throws {
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try ChaosQueries.unfinished(ids, conn: conn) == 0 { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    func print(statuses: [Int: Int], slowestAnswer: Double, drainSeconds: Double, faults: FaultLog) throws {
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let outcome = try ChaosQueries.outcome(ids, firstStep: "a", conn: conn)

        // An event counts as "during a fault" if it arrived from 1 s before a fault began to 1 s after it ended.
        let windows = faults.faults.map { ($0.from.timeIntervalSince1970 - 1, $0.to.timeIntervalSince1970 + 1) }
        var during: [Double] = [], outside: [Double] = []
        for (at, ms) in outcome.latencies {
            if windows.contains(where: { at >= $0.0 && at <= $0.1 }) { during.append(ms) } else { outside.append(ms) }
        }
        let kills = faults.faults.filter { $0.kind == .workerKill }
        let restarts = faults.faults.filter { $0.kind == .postgresRestart }
        let answers = statuses.sorted { $0.key < $1.key }.map { "\($0.key == -1 ? "no answer" : "\($0.key)"): \($0.value)" }

        Swift.print("faults: \(kills.count) worker SIGKILLs, \(restarts.count) PostgreSQL restarts (down "
                    + restarts.map { String(format: "%.2f s", $0.to.timeIntervalSince($0.from)) }.joined(separator: ", ") + ")")
        Swift.print("HTTP answers: \(answers.joined(separator: ", ")); slowest \(String(format: "%.3f", slowestAnswer)) s")
        for f in outcome.runs {
            Swift.print("runs \(f.functionID): \(f.completed) completed, \(f.failed) failed, \(f.extraAttempts) attempts after the first")
        }
        let completed = outcome.runs.reduce(Int64(0)) { $0 + $1.completed }
        Swift.print("runs completed: \(completed) (drained \(String(format: "%.1f", drainSeconds)) s after the load stopped)")
        Swift.print("acknowledged events: \(acks.count); lost: \(outcome.lost); acknowledged but run not completed: \(outcome.notRun)")
        Swift.print("step effects applied twice: \(outcome.appliedTwice); cron ticks: \(outcome.ticks), fired twice: "
                    + "\(outcome.ticks - outcome.distinctTicks)")
        Swift.print(String(format: "event-to-first-step latency during faults: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d events)",
                           Self.percentile(during, 0.5), Self.percentile(during, 0.99), during.max() ?? 0, during.count))
        Swift.print(String(format: "event-to-first-step latency outside faults: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d events)",
                           Self.percentile(outside, 0.5), Self.percentile(outside, 0.99), outside.max() ?? 0, outside.count))
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let s = values.sorted()
        return s.isEmpty ? 0 : s[min(s.count - 1, Int((Double(s.count - 1) * p).rounded()))]
    }
}
