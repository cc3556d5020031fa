import BlacklightCore

/// Events: a "send event" form with a JSON editor (checked as you type), the list with payloads and
/// the runs each started, replay.
enum EventsPage {
    static func render(rows: String, name: String?, cursor: String?, next: String?) -> String {
        let base = name.map { ["name=" + HTML.component($0)] } ?? []
        let live = cursor == nil ? " data-live=\"/events?\(HTML.escape((base + ["fragment=1"]).joined(separator: "&")))\"" : ""
        let pager = next.map { "<a href=\"/events?\(HTML.escape((base + ["cursor=" + HTML.component($0)]).joined(separator: "&")))\">Older events →</a>" } ?? ""
        return Layout.page(title: "Events", active: "Events", body: """
            <h1>Events</h1>
            <section class="card" id="send">
              <h2>Send an event</h2>
              <div class="row"><input id="ev-name" placeholder="event name, e.g. jobs/imported" size="40">
              <button class="primary" id="ev-send" data-action="send-event">Send event</button> <span id="ev-result" class="error"></span></div>
              <textarea id="ev-data" data-check="ev-result" spellcheck="false">{}</textarea>
            </section>
            <form class="filters" method="get" action="/events"><input name="name" placeholder="event name" value="\(HTML.escape(name ?? ""))"><button>Filter</button></form>
            <table id="events"><thead><tr><th>Event</th><th>Name</th><th>Received (UTC)</th><th>Runs</th><th>Payload</th><th></th></tr></thead>
            <tbody\(live)>\(rows)</tbody></table>
            <div class="pager">\(pager)</div>
            """)
    }

    static func rows(_ events: [JSONValue]) -> String {
        if events.isEmpty { return "<tr><td colspan=\"6\" class=\"muted\">No events.</td></tr>" }
        return events.map { e in
            let id = e["id"]?.stringValue ?? ""
            return "<tr><td class=\"mono\"><a href=\"/events/\(HTML.component(id))\">\(HTML.escape(id))</a></td>"
                + "<td>\(HTML.escape(e["name"]?.stringValue ?? ""))</td><td>\(HTML.time(e["received_at"]))</td>"
                + "<td><a href=\"/events/\(HTML.component(id))\">\(e["run_count"]?.intValue ?? 0)</a></td>"
                + "<td><details><summary>data</summary><pre>\(HTML.json(e["data"]))</pre></details></td>"
                + "<td><button data-action=\"replay\" data-event=\"\(HTML.escape(id))\">Replay</button></td></tr>"
        }.joined(separator: "\n")
    }

    static func renderOne(_ e: JSONValue) -> String {
        let id = e["id"]?.stringValue ?? ""
        return Layout.page(title: "Event \(id)", active: "Events", body: """
            <div class="row"><h1>Event <span class="mono">\(HTML.escape(id))</span></h1>
            <button data-action="replay" data-event="\(HTML.escape(id))">Replay</button></div>
            <section class="card"><dl class="meta">
            <dt>Name</dt><dd>\(HTML.escape(e["name"]?.stringValue ?? ""))</dd>
            <dt>Time</dt><dd>\(HTML.time(e["ts"]))</dd><dt>Received</dt><dd>\(HTML.time(e["received_at"]))</dd>
            \(e["external_id"]?.stringValue.map { "<dt>Client id</dt><dd class=\"mono\">\(HTML.escape($0))</dd>" } ?? "")
            </dl><h2>Payload</h2><pre id="event-data">\(HTML.json(e["data"]))</pre></section>
            <h2>Runs started</h2>
            <div id="event-runs" data-live="/events/\(HTML.component(id))?fragment=1">\(runsTable(e["runs"]?.arrayValue ?? []))</div>
            \(skippedTable(e["skipped"]?.arrayValue ?? []))
            """)
    }

    /// Functions this event triggers but started no run of, and why (rate limit, or replaced in a debounced run).
    static func skippedTable(_ skips: [JSONValue]) -> String {
        if skips.isEmpty { return "" }
        return "<h2>Skipped</h2><table id=\"event-skips\"><thead><tr><th>Function</th><th>Why</th><th>Key</th></tr></thead><tbody>"
            + skips.map { s in
                let why: String
                switch s["reason"]?.stringValue {
                case "rate_limit"?: why = "over the rate limit: no run started"
                case "debounce"?:
                    let run = s["run_id"]?.stringValue ?? ""
                    why = "debounced: a later event took its place in run <a class=\"mono\" href=\"/runs/\(HTML.component(run))\">\(HTML.escape(run))</a>"
                case let other?: why = HTML.escape(other)
                case nil: why = ""
                }
                return "<tr class=\"skip-row\" data-reason=\"\(HTML.escape(s["reason"]?.stringValue ?? ""))\"><td>\(HTML.escape(s["function_id"]?.stringValue ?? ""))</td>"
                    + "<td>\(why)</td><td class=\"mono\">\(HTML.escape(s["key"]?.stringValue ?? ""))</td></tr>"
            }.joined() + "</tbody></table>"
    }

    static func runsTable(_ runs: [JSONValue]) -> String {
        if runs.isEmpty { return "<p class=\"muted\">This event started no runs.</p>" }
        return "<table><thead><tr><th>Run</th><th>Function</th><th>Status</th><th>Created (UTC)</th></tr></thead><tbody>"
            + runs.map { r in
                let rid = r["id"]?.stringValue ?? ""
                return "<tr class=\"run-row\" data-status=\"\(HTML.escape(r["status"]?.stringValue ?? ""))\"><td class=\"mono\"><a href=\"/runs/\(HTML.component(rid))\">\(HTML.escape(rid))</a></td>"
                    + "<td>\(HTML.escape(r["function_id"]?.stringValue ?? ""))</td><td>\(HTML.status(r["status"]?.stringValue ?? ""))</td>"
                    + "<td>\(HTML.time(r["created_at"]))</td></tr>"
            }.joined() + "</tbody></table>"
    }
}
