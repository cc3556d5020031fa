import BlacklightCore
import Foundation
import LuaHost
import PGStore

extension ReplSession {
    static let help = """
        Lua typed here runs in the host API (db, json, log, time, events, step...) on a read-only
        connection; db.exec is the one call that writes (in its own transaction). Results are
        pretty-printed; an unfinished chunk continues on the next line.

        :help                          this list
        :functions                     functions, active versions, triggers, scripts that failed to load
        :runs [FUNCTION] [STATUS] [--limit N]   recent runs (also --function F, --status S)
        :run RUN_ID                    one run: summary and each step's output or error
        :events [N]                    the last N events (default 20)
        :reload                        compile scripts/ and activate what changed (writes versions)
        :try FUNCTION_ID [EVENT_JSON]  dry run of the script on disk in a transaction rolled back at the end:
                                       each step's output and duration as it goes; sleeps are skipped and
                                       waits time out; nothing is stored. EVENT_JSON is the event's data, or
                                       {"name": ..., "data": {...}}
        :replay RUN_ID                 run the current script with the run's stored step outputs, pausing
                                       before each step; Lua typed at a pause sees ctx, the script's locals,
                                       output (the step's stored output) and step_id
        :next  :continue               run to the next step / to the next breakpoint (or the end)
        :break [STEP_ID | -STEP_ID | -]   add a breakpoint before a step (list them; remove one; remove all)
        :rerun-step [RUN_ID] STEP_ID   execute that step live (in the replay) in a transaction and show the
                                       difference from the stored output; then :commit or :rollback
        :commit  :rollback             keep (writes and the new output as the step's memo) or drop the re-run
        :resume RUN_ID [--from STEP_ID]   resume a failed run on the script on disk: activate it, drop the
                                       memos from STEP_ID on (default: the failed step), execute it here
        :cancel RUN_ID                 cancel one run (a running step finishes; no further step starts)
        :bulk cancel|replay [--function F] [--status S] [--event NAME] [--since T] [--until T] [--dry-run]
                                       cancel every matching run that has not ended / replay every matching
                                       run that ended (paced as the CLI's), as `blacklight runs cancel|replay`
        :pause FUNCTION_ID  :unpause FUNCTION_ID   pause a function (its runs wait) / resume it
        :quit                          leave (Ctrl-D too)
        """

    func command(_ line: String) -> Bool {
        let body = line.dropFirst()
        let name = body.prefix { !$0.isWhitespace }.lowercased()
        let rest = body.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
        let words = rest.split(whereSeparator: \.isWhitespace).map(String.init)
        do {
            switch name {
            case "help", "h", "?":
                out(Self.help)
                return true
            case "quit", "q", "exit":
                finished = true
                return true
            case "functions", "fns":
                return try functions()
            case "runs":
                return try runs(words)
            case "run":
                guard let id = words.first else { return fail("usage: :run RUN_ID") }
                return try showRun(id)
            case "events":
                return try events(limit: words.first.flatMap(Int.init) ?? 20)
            case "reload":
                return try reload()
            case "try":
                guard let id = words.first else { return fail("usage: :try FUNCTION_ID [EVENT_JSON]") }
                let json = rest.dropFirst(id.count).trimmingCharacters(in: .whitespaces)
                return try tryFunction(id, eventJSON: json.isEmpty ? nil : json)
            case "replay":
                guard let id = words.first else { return fail("usage: :replay RUN_ID") }
                return try startReplay(id)
            case "next", "n", "step", "s":
                return advanceReplay(stepping: true)
            case "continue", "c", "cont":
                return advanceReplay(stepping: false)
            case "break", "b":
                return setBreakpoint(words.first)
            case "rerun-step", "rerun":
                switch words.count {
                case 1: return try rerunStep(words[0])
                case 2: return try rerunStep(words[1], run: words[0])
                default: return fail("usage: :rerun-step STEP_ID (during a :replay), or :rerun-step RUN_ID STEP_ID")
                }
            case "commit":
                return try commitRerun()
            case "rollback":
                return rollbackRerun()
            case "resume":
                guard let id = words.first else { return fail("usage: :resume RUN_ID [--from STEP_ID]") }
                var from: String?
                if let i = words.firstIndex(of: "--from") {
                    guard i + 1 < words.count else { return fail("usage: :resume RUN_ID [--from STEP_ID]") }
                    from = words[i + 1]
                }
                return try resume(id, from: from)
            case "cancel":
                guard let id = words.first else { return fail("usage: :cancel RUN_ID") }
                return try control { conn in
                    guard let r = try RunControl().cancel(id, conn: conn) else { return "no run \(id)" }
                    return r.changed ? "run \(id) cancelled" : "run \(id) has already ended (\(r.status))"
                }
            case "bulk":
                return try bulk(words)
            case "pause", "unpause":
                guard let id = words.first else { return fail("usage: :\(name) FUNCTION_ID") }
                return try control { conn in
                    let pausing = name == "pause"
                    switch pausing ? try FunctionPause().pause(id, conn: conn) : try FunctionPause().resume(id, conn: conn) {
                    case .noFunction: return "no function \(id)"
                    case .done(let changed, let runs):
                        if !changed { return "\(id) was already \(pausing ? "paused" : "running")" }
                        return pausing ? "\(id) paused; \(runs) run(s) wait for :unpause" : "\(id) resumed; \(runs) run(s) back in the queue"
                    }
                }
            default:
                return fail("unknown command :\(name) (:help lists them)")
            }
        } catch let error as PGError {
            return fail(error.message)
        } catch {
            return fail("\(error)")
        }
    }

    /// Runs a write of Engine/Control on its own connection (the session's is read-only) and prints its answer.
    func control(_ body: (PGConnection) throws -> String) throws -> Bool {
        let writer = try PGConnection(url: url)
        defer { writer.close() }
        out(try body(writer))
        return true
    }

    /// `:bulk cancel|replay` with the filters of `GET /api/runs` (BulkRuns, as the REST API and the CLI).
    func bulk(_ words: [String]) throws -> Bool {
        let usage = "usage: :bulk cancel|replay [--function F] [--status S] [--event NAME] [--since T] [--until T] [--dry-run]"
        guard let action = words.first, ["cancel", "replay"].contains(action) else { return fail(usage) }
        var options: [String: String] = [:]
        var dryRun = false
        var i = 1
        while i < words.count {
            let w = words[i]
            if w == "--dry-run" { dryRun = true; i += 1; continue }
            guard ["--function", "--status", "--event", "--since", "--until"].contains(w), i + 1 < words.count else { return fail(usage) }
            options[String(w.dropFirst(2))] = words[i + 1]
            i += 2
        }
        let filter = try RunFilter.parse(function: options["function"], status: options["status"], event: options["event"],
                                         since: options["since"], until: options["until"])
        if filter.isEmpty { return fail("name at least one filter: a bulk \(action) of every run is refused") }
        return try control { conn in
            let bulk = BulkRuns()
            if dryRun {
                let n = action == "cancel" ? try bulk.countCancellable(filter, conn: conn) : try bulk.countReplayable(filter, conn: conn)
                return "dry run: \(n) run(s) would be \(action == "cancel" ? "cancelled" : "replayed")"
            }
            let o = action == "cancel" ? try bulk.cancel(filter, conn: conn) : try bulk.replay(filter, conn: conn)
            return "\(o.count) run(s) \(action == "cancel" ? "cancelled" : "replayed")"
        }
    }

    func functions() throws -> Bool {
        let rows = try conn.query("""
            SELECT f.id, f.file, f.active_version, f.config FROM blacklight.functions f ORDER BY f.id
            """).rows
        let disk = ScriptDirectory(root: root).load(services: services)
        var byID: [String: LoadedWorkflow] = [:]
        for w in disk.workflows { byID[w.definition.id] = w }
        var table: [[String]] = [["FUNCTION", "VERSION", "FILE", "TRIGGERS", "ON DISK"]]
        var seen = Set<String>()
        for row in rows {
            let id = row["id"].stringValue ?? ""
            seen.insert(id)
            let config = row["config"].jsonText.flatMap { try? JSONValue.parse($0) }
            let active = row["active_version"].stringValue
            var diskState = "-"
            if let w = byID[id] { diskState = w.bundle.hash == active ? "same" : "changed (:reload)" }
            table.append([id, active ?? "retired", row["file"].stringValue ?? "", Self.triggers(config), diskState])
        }
        for w in disk.workflows where !seen.contains(w.definition.id) {
            table.append([w.definition.id, "not active", w.bundle.file, Self.triggers(w.definition.config), "new (:reload)"])
        }
        out(TextTable.render(table))
        for error in disk.errors { out("not loaded: \(error)") }
        return true
    }

    static func triggers(_ config: JSONValue?) -> String {
        guard let list = config?["triggers"]?.arrayValue, !list.isEmpty else { return "-" }
        return list.map { t in
            if let e = t["event"]?.stringValue { return "event " + e }
            if let c = t["cron"]?.stringValue { return "cron " + c }
            return t.serialized()
        }.joined(separator: ", ")
    }

    func runs(_ words: [String]) throws -> Bool {
        var function: String?, status: String?, limit = 20
        var i = 0
        let statuses: Set<String> = ["queued", "running", "sleeping", "waiting", "completed", "failed", "cancelled"]
        while i < words.count {
            let w = words[i]
            func value() -> String? { i + 1 < words.count ? words[i + 1] : nil }
            if w == "--function" || w == "-f", let v = value() { function = v; i += 2; continue }
            if w == "--status" || w == "-s", let v = value() { status = v; i += 2; continue }
            if w == "--limit" || w == "-n", let v = value().flatMap(Int.init) { limit = v; i += 2; continue }
            if w.hasPrefix("function=") { function = String(w.dropFirst(9)) } else if w.hasPrefix("status=") {
                status = String(w.dropFirst(7))
            } else if statuses.contains(w) { status = w } else { function = w }
            i += 1
        }
        let list = try RunQueries().list(function: function, status: status, limit: limit, conn: conn)
        if list.isEmpty {
            out("no runs")
            return true
        }
        var table: [[String]] = [["RUN", "FUNCTION", "STATUS", "ATTEMPT", "EVENT", "CREATED"]]
        for r in list {
            table.append([r.id, r.functionID, r.status, "\(r.attempt)/\(r.maxAttempts)", r.eventName ?? "-",
                          r.createdAt.map { TimeValue.iso($0.timeIntervalSince1970) } ?? "-"])
        }
        out(TextTable.render(table))
        return true
    }

    func showRun(_ id: String) throws -> Bool {
        guard let shown = try RunQueries().show(id, conn: conn) else {
            return fail("no run \(id)")
        }
        out(RunFormatting.detail(shown.0, steps: shown.1, output: shown.output, error: shown.error))
        return true
    }

    func events(limit: Int) throws -> Bool {
        let rows = try conn.query("""
            SELECT id, name, data::text AS data, received_at FROM blacklight.events ORDER BY received_at DESC, id DESC LIMIT $1
            """, [.int(Int64(limit))]).rows
        if rows.isEmpty {
            out("no events")
            return true
        }
        var table: [[String]] = [["EVENT", "NAME", "RECEIVED", "DATA"]]
        for r in rows {
            var data = r["data"].stringValue ?? ""
            if data.count > 60 { data = String(data.prefix(57)) + "..." }
            table.append([r["id"].stringValue ?? "", r["name"].stringValue ?? "",
                          r["received_at"].dateValue.map { TimeValue.iso($0.timeIntervalSince1970) } ?? "", data])
        }
        out(TextTable.render(table))
        return true
    }

    /// Compiles scripts/ and activates what compiled (like a save under `blacklight dev`).
    func reload() throws -> Bool {
        var dir = ScriptDirectory(root: root)
        dir.limits = limits
        let result = dir.load(services: services)
        let writer = try PGConnection(url: url)
        defer { writer.close() }
        let changes = try Registry().activate(result.workflows, errors: result.errors, retireMissing: true, conn: writer)
        for change in changes {
            out("\(change.functionID): \(change.kind.rawValue)\(change.version.map { " (version \($0))" } ?? "")")
        }
        if changes.isEmpty { out("no scripts in \(dir.scriptsFolder)/") }
        for error in result.errors { out("not loaded: \(error)") }
        return result.errors.isEmpty
    }

    /// The script of `function` as it is on disk now, else its active version in the database.
    func currentBundle(_ function: String) throws -> (LoadedWorkflow?, ScriptBundle, source: String) {
        var dir = ScriptDirectory(root: root)
        dir.limits = limits
        let result = dir.load(services: services)
        if let w = result.workflows.first(where: { $0.definition.id == function }) {
            return (w, w.bundle, w.bundle.file)
        }
        if let error = result.errors.first(where: { $0.message.contains("'\(function)'") }) {
            throw EngineError(.script, "the script of '\(function)' does not load: \(error)")
        }
        let rows = try conn.query("""
            SELECT v.file, v.source, v.plugins, f.config->>'kind' AS kind, f.config->>'app' AS app FROM blacklight.functions f
            JOIN blacklight.function_versions v ON v.function_id = f.id AND v.hash = f.active_version WHERE f.id = $1
            """, [.text(function)]).rows
        guard let row = rows.first else {
            throw EngineError(.notFound, "no function '\(function)' in \(dir.scriptsFolder)/ or in the database (:functions lists them)")
        }
        if row["kind"].stringValue == "http" {
            throw EngineError(.badInput, "'\(function)' is a function of the Inngest SDK app '\(row["app"].stringValue ?? "?")': its code runs in "
                + "the app, not here. :run shows its steps; rerun and rerun-from-step work from the dashboard and the REST API")
        }
        var plugins: [String: String] = [:]
        if let raw = row["plugins"].jsonText, case .object(let o)? = try? JSONValue.parse(raw) {
            for (k, v) in o { plugins[k] = v.stringValue }
        }
        let bundle = ScriptBundle(file: row["file"].stringValue ?? "?", source: row["source"].stringValue ?? "", plugins: plugins)
        return (nil, bundle, "the active version")
    }

    /// A workflow VM for `bundle` whose `print` reaches the person, instrumented with `hooks`.
    func debugVM(_ bundle: ScriptBundle, hooks: StepHooks) throws -> WorkflowVM {
        let wvm: WorkflowVM
        do {
            wvm = try WorkflowVM(bundle: bundle, limits: limits, services: services, resolvePlugin: { bundle.plugins[$0] })
        } catch {
            throw EngineError(.script, "\(error)")
        }
        try hooks.install(into: wvm)
        return wvm
    }
}
