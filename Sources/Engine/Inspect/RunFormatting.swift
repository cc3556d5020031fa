import BlacklightCore
import Foundation

/// Plain-text views of runs for the terminal: the CLI's `runs` commands and the REPL's `:run`.
public enum RunFormatting {
    public static func table(_ runs: [RunQueries.RunSummary]) -> String {
        var lines = [pad("RUN", 26) + "  " + pad("FUNCTION", 28) + "  " + pad("STATUS", 10) + "  ATTEMPT  EVENT"]
        for r in runs {
            lines.append(pad(r.id, 26) + "  " + pad(r.functionID, 28) + "  " + pad(r.status, 10) + "  "
                         + pad("\(r.attempt)/\(r.maxAttempts)", 7) + "  " + (r.eventName ?? "-"))
        }
        return lines.joined(separator: "\n")
    }

    public static func detail(_ run: RunQueries.RunSummary, steps: [RunQueries.StepDetail], output: JSONValue?, error: JSONValue?) -> String {
        var lines = [
            "run       \(run.id)",
            "function  \(run.functionID)",
            "version   \(run.version)",
            "status    \(run.status)",
            "attempt   \(run.attempt) of \(run.maxAttempts)",
            "event     \(run.eventName ?? "-")",
        ]
        if let output { lines.append("output    \(output.serialized())") }
        if let error {
            lines.append("error     \(error["message"]?.stringValue ?? error.serialized())")
            if let tb = error["traceback"]?.stringValue { lines.append(tb.split(separator: "\n").map { "          " + $0 }.joined(separator: "\n")) }
        }
        lines.append("steps")
        for s in steps {
            var line = "  \(pad(s.key, 24)) \(pad(s.kind, 6)) \(pad(s.status, 10)) attempts \(s.attempts)"
            if let start = s.startedAt, let end = s.endedAt {
                line += String(format: "  %.1f ms", end.timeIntervalSince(start) * 1000)
            }
            if let wake = s.wakeAt, s.status != "completed" { line += "  until \(ISO8601DateFormatter().string(from: wake))" }
            lines.append(line)
            if let output = s.output { lines.append("      output: \(output.serialized())") }
            if let error = s.error { lines.append("      error: \(error["message"]?.stringValue ?? error.serialized())") }
        }
        return lines.joined(separator: "\n")
    }

    public static func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s : s + String(repeating: " ", count: n - s.count)
    }
}
