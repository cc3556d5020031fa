import BlacklightCore
import Engine

/// The runs list: filters, 50 runs a page (keyset pagination on the run id, so page 200 of 10,000
/// runs costs what page 1 does), and a first page that refreshes itself.
enum RunsPage {
    static func render(filter: ReadQueries.RunFilter, functions: [String], rows: String, next: String?, since: String?, until: String?) -> String {
        let fnOptions = (["" ] + functions).map { f in
            "<option value=\"\(HTML.escape(f))\"\(filter.function == f ? " selected" : "")>\(f.isEmpty ? "all functions" : HTML.escape(f))</option>"
        }.joined()
        let statusOptions = ([""] + RunStatusName.all).map { s in
            "<option value=\"\(s)\"\(filter.status?.first == s ? " selected" : "")>\(s.isEmpty ? "any status" : s)</option>"
        }.joined()
        var base: [String] = []
        if let f = filter.function { base.append("function=" + HTML.component(f)) }
        if let s = filter.status?.first { base.append("status=" + HTML.component(s)) }
        if let e = filter.eventName { base.append("event=" + HTML.component(e)) }
        if filter.since != nil, let s = since { base.append("since=" + HTML.component(s)) }
        if filter.until != nil, let u = until { base.append("until=" + HTML.component(u)) }
        let live = filter.cursor == nil ? " data-live=\"/runs?\(HTML.escape((base + ["fragment=1"]).joined(separator: "&")))\"" : ""
        let pager = next.map { "<a href=\"/runs?\(HTML.escape((base + ["cursor=" + HTML.component($0)]).joined(separator: "&")))\">Older runs →</a>" } ?? ""
        return Layout.page(title: "Runs", active: "Runs", body: """
            <h1>Runs</h1>
            <form class="filters" method="get" action="/runs">
              <select name="function">\(fnOptions)</select>
              <select name="status">\(statusOptions)</select>
              <input name="event" placeholder="event name" value="\(HTML.escape(filter.eventName ?? ""))">
              <label class="muted">from <input type="datetime-local" name="since" value="\(HTML.escape(filter.since == nil ? "" : since ?? ""))"></label>
              <label class="muted">to <input type="datetime-local" name="until" value="\(HTML.escape(filter.until == nil ? "" : until ?? ""))"></label>
              <button type="submit">Filter</button> \(filter.cursor != nil ? "<a href=\"/runs\">newest</a>" : "<span class=\"muted\">updates live</span>")
            </form>
            <div class="card row" id="bulk">
              <span class="muted">Runs matching the filters above:</span>
              <button class="danger" id="bulk-cancel" data-action="bulk-cancel">Cancel matching…</button>
              <button id="bulk-replay" data-action="bulk-replay">Replay matching…</button>
              <span id="bulk-confirm" class="hidden"><b id="bulk-question"></b>
                <button class="primary" id="bulk-yes">Confirm</button> <button id="bulk-no" data-action="bulk-back">Back</button></span>
              <span id="bulk-result"></span>
            </div>
            <table id="runs"><thead><tr><th>Run</th><th>Function</th><th>Status</th><th>Attempt</th><th>Event</th><th>Created (UTC)</th><th>Duration</th></tr></thead>
            <tbody\(live)>\(rows)</tbody></table>
            <div class="pager">\(pager)</div>
            """)
    }

    static func rows(_ runs: [JSONValue]) -> String {
        if runs.isEmpty { return "<tr><td colspan=\"7\" class=\"muted\">No runs.</td></tr>" }
        return runs.map { r in
            let id = r["id"]?.stringValue ?? ""
            let ended = r["ended_at"].map { !$0.isNull } ?? false
            return "<tr data-run=\"\(HTML.escape(id))\" data-status=\"\(HTML.escape(r["status"]?.stringValue ?? ""))\">"
                + "<td class=\"mono\"><a href=\"/runs/\(HTML.component(id))\">\(HTML.escape(id))</a></td>"
                + "<td>\(HTML.escape(r["function_id"]?.stringValue ?? ""))\(r["kind"]?.stringValue == "on_failure" ? " <span class=\"muted\">(on_failure)</span>" : "")</td>"
                + "<td>\(HTML.status(r["status"]?.stringValue ?? ""))\(HTML.waitingFor(r["waiting_for"]))</td>"
                + "<td>\(r["attempt"]?.intValue ?? 0)/\(r["max_attempts"]?.intValue ?? 0)</td>"
                + "<td>\(HTML.escape(r["event_name"]?.stringValue ?? ""))</td>"
                + "<td>\(HTML.time(r["created_at"]))</td>"
                + "<td>\(ended ? HTML.duration(r["duration_ms"]?.doubleValue) : "")</td></tr>"
        }.joined(separator: "\n")
    }
}
