import BlacklightCore

/// Functions: triggers, active version, reload errors, "invoke" with test data, cron "run now".
enum FunctionsPage {
    static func render(_ data: JSONValue, schedules: [JSONValue]) -> String {
        let functions = data["functions"]?.arrayValue ?? []
        let errors = data["load_errors"]?.arrayValue ?? []
        var body = "<h1>Functions</h1>"
        if !errors.isEmpty {
            body += "<section class=\"card\" id=\"load-errors\"><h2 class=\"error\">Scripts that failed to load</h2><p class=\"muted\">The last good version of each stays active.</p>"
                + errors.map { e in
                    "<div><b class=\"mono\">\(HTML.escape(e["file"]?.stringValue ?? ""))\(e["line"]?.intValue.map { ":\($0)" } ?? "")</b><pre class=\"error\">\(HTML.escape(e["message"]?.stringValue ?? ""))</pre></div>"
                }.joined() + "</section>"
        }
        if functions.isEmpty { body += "<p class=\"muted\">No functions yet: add a workflow to scripts/.</p>" }
        body += "<table id=\"functions\"><thead><tr><th>Function</th><th>Triggers</th><th>Active version</th><th>Deployed (UTC)</th><th></th></tr></thead><tbody>"
        for (i, f) in functions.enumerated() {
            let id = f["id"]?.stringValue ?? ""
            let triggers = (f["triggers"]?.arrayValue ?? []).map { t -> String in
                if let e = t["event"]?.stringValue {
                    return "event <b>\(HTML.escape(e))</b>" + (t["filter"].flatMap { $0.isNull ? nil : " if <code>\(HTML.escape($0.serialized()))</code>" } ?? "")
                }
                if let c = t["cron"]?.stringValue {
                    return "cron <code>\(HTML.escape(c))</code>" + (t["timezone"]?.stringValue.map { " (\(HTML.escape($0)))" } ?? "")
                }
                return HTML.escape(t.serialized())
            }.joined(separator: "<br>")
            let version = f["active_version"]?.stringValue
            let loadError = f["load_error"].flatMap { $0.isNull ? nil : $0 }
            let area = "invoke-\(i)", out = "invoke-out-\(i)"
            let paused = f["paused"]?.boolValue == true
            let pauseControl = paused
                ? "<span class=\"waiting-for\">paused</span> <button class=\"primary\" data-fn=\"\(HTML.escape(id))\" data-action=\"resume\">Resume</button>"
                : "<button data-fn=\"\(HTML.escape(id))\" data-action=\"pause\">Pause</button>"
            let invoke = version == nil ? "<span class=\"muted\">retired</span>" : """
                <details><summary>Invoke</summary><textarea id="\(area)" data-check="\(out)" spellcheck="false">{}</textarea>
                <button class="primary" data-action="invoke" data-fn="\(HTML.escape(id))" data-area="\(area)" data-out="\(out)">Run with this data</button>
                <span id="\(out)" class="error"></span></details>
                """
            body += """
                <tr data-function="\(HTML.escape(id))" data-paused="\(paused)"><td><a href="/runs?function=\(HTML.component(id))"><b>\(HTML.escape(id))</b></a><div class="muted">\(HTML.escape(f["name"]?.stringValue ?? "")) · \(origin(f))</div>
                \(loadError.map { "<div class=\"error\">reload failed: \(HTML.escape($0["message"]?.stringValue ?? ""))</div>" } ?? "")</td>
                <td>\(triggers)</td><td class="mono">\(version.map { HTML.escape(String($0.prefix(12))) } ?? "<span class=\"muted\">none</span>")</td>
                <td>\(HTML.time(f["deployed_at"]))</td><td><p class="row pause">\(pauseControl)</p>\(invoke)</td></tr>
                """
        }
        body += "</tbody></table>"
        if !schedules.isEmpty {
            body += "<h2>Schedules</h2><table id=\"schedules\"><thead><tr><th>Schedule</th><th>Cron</th><th>Last tick</th><th>Next tick</th><th>Last error</th><th></th></tr></thead><tbody>"
                + schedules.map { s in
                    let sid = s["id"]?.stringValue ?? ""
                    return "<tr><td class=\"mono\">\(HTML.escape(sid))</td><td><code>\(HTML.escape(s["cron"]?.stringValue ?? ""))</code></td>"
                        + "<td>\(HTML.time(s["last_tick"]))</td><td>\(HTML.time(s["next_tick"]))</td>"
                        + "<td>\(lastError(s))</td>"
                        + "<td><button data-action=\"run-schedule\" data-schedule=\"\(HTML.escape(sid))\">Run now</button></td></tr>"
                }.joined() + "</tbody></table>"
        }
        return Layout.page(title: "Functions", active: "Functions", body: body)
    }

    /// Where a function comes from: its script, or for an Inngest SDK app's function (kind http) the app and its last sync.
    private static func origin(_ f: JSONValue) -> String {
        guard f["kind"]?.stringValue == "http", let app = f["app"], !app.isNull else { return HTML.escape(f["file"]?.stringValue ?? "") }
        return "http · app <b>\(HTML.escape(app["id"]?.stringValue ?? ""))</b> · synced \(HTML.time(app["synced_at"]))"
    }

    /// A schedule's failing fire or bad expression, kept until its next successful fire.
    private static func lastError(_ schedule: JSONValue) -> String {
        guard let message = schedule["last_error"]?.stringValue else { return "" }
        return "<div class=\"error\">\(HTML.escape(message))</div><div class=\"muted\">\(HTML.time(schedule["last_error_at"]))</div>"
    }
}
