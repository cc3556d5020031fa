import BlacklightCore
import Foundation

/// One run: its facts, actions, the step timeline (bars placed by start and duration), each step's
/// output or error with the Lua traceback, sleeps and waits, logs; refreshed live until it ends.
enum RunPage {
    static let terminal: Set<String> = ["completed", "failed", "cancelled"]

    static func render(_ run: JSONValue) -> String {
        let id = run["id"]?.stringValue ?? ""
        let status = run["status"]?.stringValue ?? ""
        let live = terminal.contains(status) ? "" : " data-live=\"/runs/\(HTML.component(id))?fragment=1\""
        return Layout.page(title: "Run \(id)", active: "Runs", body: "<div id=\"run\"\(live)>\(body(run))</div>")
    }

    static func body(_ run: JSONValue) -> String {
        let id = run["id"]?.stringValue ?? ""
        let status = run["status"]?.stringValue ?? ""
        let event = run["event"]
        let steps = run["steps"]?.arrayValue ?? []
        let eventLink = event.flatMap { $0["id"]?.stringValue }.map {
            "<a href=\"/events/\($0.isEmpty ? "" : HTML.component($0))\">\(HTML.escape(event?["name"]?.stringValue ?? $0))</a>"
        } ?? "<span class=\"muted\">none</span>"
        var actions = ""
        if !terminal.contains(status) { actions += "<button class=\"danger\" id=\"cancel\" data-action=\"cancel\" data-run=\"\(HTML.escape(id))\">Cancel</button> " }
        actions += "<button id=\"rerun\" data-action=\"rerun\" data-run=\"\(HTML.escape(id))\">Rerun</button>"
        let related = (run["related_runs"]?.arrayValue ?? []).map { r in
            "<a href=\"/runs/\(HTML.component(r["id"]?.stringValue ?? ""))\">\(HTML.escape(r["kind"]?.stringValue ?? "")) \(HTML.escape(r["id"]?.stringValue ?? ""))</a> \(HTML.status(r["status"]?.stringValue ?? ""))"
        }.joined(separator: "<br>")
        var out = """
            <div class="row"><h1>Run <span class="mono">\(HTML.escape(id))</span></h1> \(HTML.status(status))\(HTML.waitingFor(run["waiting_for"]))</div>
            <section class="card"><dl class="meta">
            <dt>Function</dt><dd><a href="/runs?function=\(HTML.component(run["function_id"]?.stringValue ?? ""))">\(HTML.escape(run["function_id"]?.stringValue ?? ""))</a>\(run["kind"]?.stringValue == "on_failure" ? " (on_failure handler)" : "")</dd>
            <dt>Version</dt><dd class="mono">\(HTML.escape(run["version"]?.stringValue ?? ""))</dd>
            <dt>Attempt</dt><dd>\(run["attempt"]?.intValue ?? 0) of \(run["max_attempts"]?.intValue ?? 0)</dd>
            <dt>Event</dt><dd>\(eventLink)</dd>
            <dt>Created</dt><dd>\(HTML.time(run["created_at"]))</dd>
            <dt>Started</dt><dd>\(HTML.time(run["started_at"]))</dd>
            <dt>Ended</dt><dd>\(HTML.time(run["ended_at"]))\(run["ended_at"]?.isNull == false ? " (" + HTML.duration(run["duration_ms"]?.doubleValue) + ")" : "")</dd>
            \(run["parent_run_id"]?.stringValue.map { "<dt>Parent run</dt><dd><a href=\"/runs/\(HTML.component($0))\">\(HTML.escape($0))</a></dd>" } ?? "")
            \(related.isEmpty ? "" : "<dt>Related</dt><dd>\(related)</dd>")
            </dl><p class="row">\(actions)</p></section>
            """
        if let o = run["output"], !o.isNull { out += "<h2>Output</h2><pre id=\"run-output\">\(HTML.json(o))</pre>" }
        if let e = run["error"], !e.isNull { out += "<h2>Error</h2>" + error(e) }
        out += "<h2>Steps</h2>" + timeline(id: id, steps: steps, runDuration: run["duration_ms"]?.doubleValue)
        let logs = run["logs"]?.arrayValue ?? []
        if !logs.isEmpty {
            out += "<h2>Logs</h2><table><tbody>" + logs.map { l in
                "<tr><td>\(HTML.time(l["at"]))</td><td>\(HTML.escape(l["level"]?.stringValue ?? ""))</td><td class=\"mono\">\(HTML.escape(l["message"]?.stringValue ?? ""))</td></tr>"
            }.joined() + "</tbody></table>"
        }
        if let e = event, !e.isNull { out += "<h2>Event data</h2><pre>\(HTML.json(e["data"]))</pre>" }
        return out
    }

    static func error(_ e: JSONValue) -> String {
        var s = "<div class=\"error\">\(HTML.escape(e["message"]?.stringValue ?? e.serialized()))</div>"
        if let tb = e["traceback"]?.stringValue { s += "<pre class=\"traceback\">\(HTML.escape(tb))</pre>" }
        return s
    }

    static func timeline(id: String, steps: [JSONValue], runDuration: Double?) -> String {
        if steps.isEmpty { return "<p class=\"muted\">No steps yet.</p>" }
        let span = max(1, steps.map { ($0["offset_ms"]?.doubleValue ?? 0) + ($0["duration_ms"]?.doubleValue ?? 0) }.max() ?? 1,
                       runDuration ?? 0)
        return "<table id=\"steps\"><thead><tr><th>Step</th><th>Kind</th><th>Status</th><th>Attempts</th><th>Duration</th><th class=\"col-timeline\">Timeline</th></tr></thead><tbody>"
            + steps.enumerated().map { i, s in
                let key = s["id"]?.stringValue ?? ""
                let status = s["status"]?.stringValue ?? ""
                let offset = s["offset_ms"]?.doubleValue ?? 0, duration = s["duration_ms"]?.doubleValue ?? 0
                let left = min(100, offset / span * 100), width = max(0.5, min(100 - left, duration / span * 100))
                var detail = ""
                if let o = s["output"], !o.isNull { detail += "<div class=\"muted\">output</div><pre>\(HTML.json(o))</pre>" }
                if let e = s["error"], !e.isNull { detail += error(e) }
                if let w = s["wake_at"]?.stringValue { detail += "<div>\(status == "sleeping" ? "sleeping until" : "wakes at") \(HTML.escape(w))</div>" }
                if let w = s["wait"], !w.isNull {
                    detail += "<div>waiting for <b>\(HTML.escape(w["event"]?.stringValue ?? ""))</b> matching <code>\(HTML.escape(w["match"]?.serialized() ?? "{}"))</code> until \(HTML.escape(w["expires_at"]?.stringValue ?? ""))</div>"
                }
                let area = "edit-\(i)"
                let prefill = s["output"].map { $0.isNull ? "" : HTML.pretty($0) } ?? ""
                detail += """
                    <details><summary>Rerun from this step</summary>
                    <p class="muted">Steps before it replay their stored output. With JSON below, this step's output is replaced by it and the run continues after it; leave it empty to run this step again.</p>
                    <textarea id="\(area)">\(HTML.escape(prefill))</textarea>
                    <button data-action="rerun-from" data-run="\(HTML.escape(id))" data-step="\(HTML.escape(key))" data-area="\(area)">Rerun from “\(HTML.escape(key))”</button>
                    </details>
                    """
                return """
                    <tr data-step="\(HTML.escape(key))"><td class="mono">\(HTML.escape(key))</td><td>\(HTML.escape(s["kind"]?.stringValue ?? ""))</td>
                    <td>\(HTML.status(status))</td><td>\(s["attempts"]?.intValue ?? 0)</td><td>\(HTML.duration(s["duration_ms"]?.doubleValue))</td>
                    <td><div class="timeline"><div class="bar \(HTML.escape(status))" data-left="\(String(format: "%.2f", left))" data-width="\(String(format: "%.2f", width))"></div></div></td></tr>
                    <tr><td></td><td colspan="5">\(detail)</td></tr>
                    """
            }.joined() + "</tbody></table>"
    }
}
