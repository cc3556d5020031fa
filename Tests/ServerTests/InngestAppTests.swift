import BlacklightCore
import Engine
import Foundation
import PGStore
import Testing
import TestSupport

/// Unchanged Inngest SDK apps on Blacklight (issue 12): the real `inngest` package (PyPI, v0.5.19) served by a real
/// Flask app (InngestApp/app.py) syncs with the server and its functions run on the engine's workers, on a real
/// PostgreSQL, beside Lua workflows. Runs alone after the other suites (bin/test `own=`): it waits on a child process.
@Suite("Inngest SDK apps", .serialized)
struct InngestAppTests {
    static let signingKey = "signkey-test-" + String(repeating: "8f3a", count: 16)
    static let eventKey = "ek-inngest-app"

    static let luaDouble = """
        return workflow {
          id = "lua-double",
          triggers = { { event = "test/lua-double" } },
          run = function(ctx, step)
            local n = step.run("double", function() return ctx.event.data.n * 2 end)
            return { doubled = n }
          end,
        }
        """

    static let luaCallsPython = """
        return workflow {
          id = "lua-calls-py",
          triggers = { { event = "test/lua-calls-py" } },
          run = function(ctx, step)
            local r = step.invoke("square", { function_id = "bl-app-py-square", data = { n = 7 } })
            return { squared = r.squared }
          end,
        }
        """

    /// The server (with workers, keys as `serve` has them), the Lua workflows, and the Flask app, synced.
    static func start(engine: Bool = true, configureEngine: @escaping (inout EngineProcess.Options) -> Void = { _ in })
        async throws -> (ServerHarness, FlaskApp) {
        let h = try await ServerHarness.start(scripts: ["lua-double.lua": luaDouble, "lua-calls-py.lua": luaCallsPython], engine: engine,
                                              configure: { o in
                                                  o.dev = false
                                                  o.eventKeys = [eventKey]
                                                  o.signingKey = signingKey
                                              }, configureEngine: configureEngine)
        let app = try FlaskApp(base: h.base, signingKey: signingKey, eventKey: eventKey, root: h.root)
        try await onThread { try app.waitUntilListening() }
        let sync = try await h.post("/api/apps/sync", #"{"url": "\#(app.url)"}"#, headers: ["Authorization": "Bearer \(signingKey)"])
        #expect(sync.status == 200, "sync failed: \(sync.text)\n\(app.log)")
        return (h, app)
    }

    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingHTTP.onOwnThread(body)
    }

    static func send(_ h: ServerHarness, _ events: String) async throws -> [String] {
        let reply = try await h.post("/e/\(eventKey)", events)
        #expect(reply.status == 200, "\(reply.text)")
        return reply.json["ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// The run of `function` for `event`, once it has ended.
    static func ended(_ h: ServerHarness, function: String, event: String? = nil, timeout: Double = 60) async throws -> PGRow {
        try await onThread {
            var found: PGRow?
            try Poll.until("a run of \(function) to end", timeout: timeout) {
                found = try h.conn.query("""
                    SELECT id, status, attempt, output::text AS output, error::text AS error FROM blacklight.runs
                    WHERE function_id = $1 AND ($2::text IS NULL OR event_id = $2) AND status IN ('completed','failed','cancelled')
                    ORDER BY id LIMIT 1
                    """, [.text(function), event.map { .text($0) } ?? .null]).rows.first
                return found != nil
            }
            guard let found else { throw PollTimeout(what: function, seconds: timeout) }
            return found
        }
    }

    static func json(_ row: PGRow, _ column: String) -> JSONValue {
        row[column].stringValue.flatMap { try? JSONValue.parse($0) } ?? .null
    }

    @Test("the app syncs: its functions are http functions with URL, triggers, retries and flow control, beside the Lua ones")
    func syncStoresFunctions() async throws {
        let (h, app) = try await Self.start(engine: false)
        defer { app.stop(); Task { await h.stop() } }
        let rows = try h.conn.query("""
            SELECT id, config::text AS config, active_version FROM blacklight.functions WHERE config->>'kind' = 'http' ORDER BY id
            """).rows
        #expect(rows.compactMap { $0["id"].stringValue } == [
            "bl-app-cleanup-stale-sessions", "bl-app-fan-out", "bl-app-flaky", "bl-app-invoker", "bl-app-match-jobs-to-candidates",
            "bl-app-py-square", "bl-app-refuser", "bl-app-refuser-failure", "bl-app-sleepy", "bl-app-throttled", "bl-app-waiter",
        ])
        #expect(rows.allSatisfy { $0["active_version"].stringValue?.hasPrefix("http-") == true })
        let match = try #require(rows.first { $0["id"].stringValue == "bl-app-match-jobs-to-candidates" })
        let config = Self.json(match, "config")
        #expect(config["retries"]?.intValue == 2)
        #expect(config["app"]?.stringValue == "bl-app")
        #expect(config["url"]?.stringValue == app.url + "?fnId=bl-app-match-jobs-to-candidates&stepId=step")
        let throttled = Self.json(try #require(rows.first { $0["id"].stringValue == "bl-app-throttled" }), "config")
        #expect(throttled["throttle"]?["limit"]?.intValue == 5)
        #expect(throttled["throttle"]?["period"]?.doubleValue == 60)
        #expect(throttled["concurrency_limit"]?.intValue == 2)
        #expect(throttled["concurrency_key_path"] == .array(["tenant"]))
        #expect(throttled["idempotency_path"] == .array(["n"]))
        #expect(try h.count("SELECT count(*) FROM blacklight.triggers WHERE function_id = 'bl-app-throttled' AND expression IS NOT NULL") == 1)
        #expect(try h.count("SELECT count(*) FROM blacklight.schedules WHERE function_id = 'bl-app-cleanup-stale-sessions'") == 1)
        #expect(try h.count("SELECT count(*) FROM blacklight.functions WHERE id IN ('lua-double', 'lua-calls-py') AND active_version IS NOT NULL") == 2)
        let apps = try await h.get("/api/apps", headers: ["Authorization": "Bearer \(Self.signingKey)"])
        #expect(apps.json["apps"]?[0]?["id"]?.stringValue == "bl-app")
        #expect(apps.json["apps"]?[0]?["functions"]?.intValue == 11)
        #expect(apps.json["apps"]?[0]?["sdk"]?.stringValue == "py:v0.5.19")
        let listed = try await h.get("/api/functions/bl-app-sleepy", headers: ["Authorization": "Bearer \(Self.signingKey)"])
        #expect(listed.json["kind"]?.stringValue == "http")
        #expect(listed.json["app"]?["url"]?.stringValue == app.url)
        let lua = try await h.get("/api/functions/lua-double", headers: ["Authorization": "Bearer \(Self.signingKey)"])
        #expect(lua.json["kind"]?.stringValue == "lua")
        let page = try await h.get("/functions", headers: ["Authorization": "Bearer \(Self.signingKey)"])
        #expect(page.text.contains("http · app <b>bl-app</b> · synced"))

        // A sync again changes nothing; a caller without the key is refused.
        let again = try await h.post("/api/apps/sync", #"{"url": "\#(app.url)"}"#, headers: ["Authorization": "Bearer \(Self.signingKey)"])
        #expect(again.json["answer"]?["modified"]?.boolValue == false, "\(again.text)")
        let refused = try await h.post("/fn/register", #"{"appname": "intruder", "url": "http://x", "functions": []}"#,
                                       headers: ["Authorization": "Bearer 0000"])
        #expect(refused.status == 401)
        #expect(try h.count("SELECT count(*) FROM blacklight.apps") == 1)

        // A config Blacklight cannot honour refuses the whole sync, naming the function and the field; nothing changes.
        let bad = """
            {"appname": "bl-app", "url": "\(app.url)", "functions": [{"id": "bl-app-x", "triggers": [{"event": "a/b"}],
             "concurrency": [{"limit": 1}, {"limit": 2, "key": "event.data.t"}],
             "steps": {"step": {"id": "step", "name": "step", "runtime": {"type": "http", "url": "\(app.url)?fnId=bl-app-x&stepId=step"}}}}]}
            """
        let hashed = try #require(InngestSignature.hashedKey(Self.signingKey))
        let badReply = try await h.post("/fn/register", bad, headers: ["Authorization": "Bearer \(hashed)"])
        #expect(badReply.status == 400)
        #expect(badReply.json["error"]?.stringValue == "app 'bl-app', function 'bl-app-x': only one concurrency limit per function is supported (got 2)")
        #expect(try h.count("SELECT count(*) FROM blacklight.functions WHERE config->>'app' = 'bl-app' AND active_version IS NOT NULL") == 11)
    }

    @Test("the app's functions run to the results Inngest gives: steps, sleep, waits, invokes both ways, errors, retries, parallel, cron")
    func functionsRunToTheirResults() async throws {
        let (h, app) = try await Self.start()
        defer { app.stop(); Task { await h.stop() } }
        // The first waiter's approval comes while its step before the wait is still running (held in the app).
        app.hold("waiter-ready")
        let waiting = try await Self.send(h, #"{"name": "test/wait", "data": {"id": 1}}"#)
        try await Self.onThread { try Poll.until("the first waiter's step to run") { app.count("waiter-ready-1") == 1 } }
        _ = try await Self.send(h, #"{"name": "test/approved", "data": {"id": 1, "by": "early"}}"#)
        app.release("waiter-ready")
        let ids = try await Self.send(h, """
            [{"name": "jobs/imported", "data": {"job_ids": ["j1", "j2"], "batch_id": "b1", "source": "scraper"}},
             {"name": "test/sleep", "data": {}},
             {"name": "test/invoke", "data": {}},
             {"name": "test/lua-calls-py", "data": {}},
             {"name": "test/refuse", "data": {}},
             {"name": "test/flaky", "data": {}},
             {"name": "test/parallel", "data": {}},
             {"name": "test/throttled", "data": {"n": 1, "tenant": "t"}},
             {"name": "test/throttled", "data": {"n": 2, "tenant": "t"}}]
            """)
        #expect(ids.count == 9)

        let match = try await Self.ended(h, function: "bl-app-match-jobs-to-candidates")
        #expect(match["status"].stringValue == "completed", "\(match["error"].stringValue ?? "")\n\(app.log)")
        #expect(Self.json(match, "output") == .object(["jobs": 2, "matches": 4, "batch_id": "b1"]))
        for step in ["load-jobs", "load-candidates", "score-matches", "store-matches"] { #expect(app.count(step) == 1, "\(step)") }
        let steps = try h.conn.query("SELECT key, kind, status FROM blacklight.steps WHERE run_id = $1 ORDER BY seq",
                                     [match["id"]]).rows.map { "\($0["key"].stringValue ?? ""):\($0["status"].stringValue ?? "")" }
        #expect(steps == ["load-jobs:completed", "load-candidates:completed", "score-matches:completed", "store-matches:completed"])

        let sleepy = try await Self.ended(h, function: "bl-app-sleepy")
        #expect(Self.json(sleepy, "output") == .object(["before": 1, "after": 1]))
        #expect(try h.count("SELECT count(*) FROM blacklight.steps WHERE run_id = $1 AND kind = 'sleep' AND key = 'nap'", [sleepy["id"]]) == 1)

        // The approval sent before the wait was reached is found; one sent after the wait is waiting resolves it.
        let early = try await Self.ended(h, function: "bl-app-waiter", event: waiting[0])
        #expect(Self.json(early, "output") == .object(["approved_by": "early"]))
        let late = try await Self.send(h, #"{"name": "test/wait", "data": {"id": 2}}"#)
        try await Self.onThread {
            try Poll.until("the second waiter to wait") {
                try h.count("""
                    SELECT count(*) FROM blacklight.steps s JOIN blacklight.runs r ON r.id = s.run_id
                    WHERE r.event_id = $1 AND s.key = 'wait-approval' AND s.status = 'waiting'
                    """, [.text(late[0])]) == 1
            }
        }
        _ = try await Self.send(h, #"[{"name": "test/approved", "data": {"id": 3, "by": "other"}}, {"name": "test/approved", "data": {"id": 2, "by": "late"}}]"#)
        let lateRun = try await Self.ended(h, function: "bl-app-waiter", event: late[0])
        #expect(Self.json(lateRun, "output") == .object(["approved_by": "late"]))

        let invoker = try await Self.ended(h, function: "bl-app-invoker")
        #expect(Self.json(invoker, "output") == .object(["from_lua": .object(["doubled": 42])]), "\(invoker["error"].stringValue ?? "")")
        let luaCaller = try await Self.ended(h, function: "lua-calls-py")
        #expect(Self.json(luaCaller, "output") == .object(["squared": 49]), "\(luaCaller["error"].stringValue ?? "")")

        let refuser = try await Self.ended(h, function: "bl-app-refuser")
        #expect(refuser["status"].stringValue == "failed")
        #expect(refuser["attempt"].intValue == 1)
        #expect(app.count("refuser") == 1)
        #expect(Self.json(refuser, "error")["message"]?.stringValue?.contains("candidate 42 does not exist") == true,
                "\(refuser["error"].stringValue ?? "")")
        // Its on_failure handler runs, for Inngest's `inngest/function.failed` event.
        let handler = try await Self.ended(h, function: "bl-app-refuser-failure")
        #expect(Self.json(handler, "output") == .object(["failed_run": .string(refuser["id"].stringValue ?? ""),
                                                         "message": "candidate 42 does not exist"]), "\(handler["error"].stringValue ?? "")")
        #expect(app.count("refuser-failure") == 1)

        let flaky = try await Self.ended(h, function: "bl-app-flaky")
        #expect(flaky["status"].stringValue == "completed", "\(flaky["error"].stringValue ?? "")")
        #expect(Self.json(flaky, "output") == .object(["attempts": 3]))
        #expect(flaky["attempt"].intValue == 3)
        #expect(app.count("flaky") == 3)

        let fan = try await Self.ended(h, function: "bl-app-fan-out")
        #expect(Self.json(fan, "output") == .object(["results": ["jobs-done", "candidates-done", "roles-done"], "total": 3]),
                "\(fan["error"].stringValue ?? "")")
        for step in ["fan-jobs", "fan-candidates", "fan-roles"] { #expect(app.count(step) == 1, "\(step)") }

        let throttled = try await Self.ended(h, function: "bl-app-throttled")
        #expect(Self.json(throttled, "output") == .int(2))
        #expect(try h.count("SELECT count(*) FROM blacklight.runs WHERE function_id = 'bl-app-throttled'") == 1)

        // The cron function, run now through its schedule (its next tick is up to 15 minutes away).
        let cron = try await h.post("/api/schedules/fn:bl-app-cleanup-stale-sessions:0/run", "{}",
                                    headers: ["Authorization": "Bearer \(Self.signingKey)"])
        #expect((200..<300).contains(cron.status), "\(cron.text)")
        let cleanup = try await Self.ended(h, function: "bl-app-cleanup-stale-sessions")
        #expect(Self.json(cleanup, "output")["runs"]?.intValue == 1, "\(cleanup["error"].stringValue ?? "")")
    }

    @Test("the app down: the run is retried with its backoff, not lost, and completes once the app is back")
    func appDownIsRetried() async throws {
        // Backoff from 1 s, so the attempts outlast the app's restart.
        let (h, app) = try await Self.start(configureEngine: { $0.services.retryBaseDelay = 1 })
        defer { app.stop(); Task { await h.stop() } }
        app.stop()
        let ids = try await Self.send(h, #"{"name": "test/square", "data": {"n": 5}}"#)
        try await Self.onThread {
            try Poll.until("an attempt to fail on the stopped app") {
                try h.count("SELECT count(*) FROM blacklight.runs WHERE event_id = $1 AND attempt >= 2 AND status <> 'failed'",
                            [.text(ids[0])]) == 1
            }
        }
        let error = try h.conn.query("SELECT error::text FROM blacklight.runs WHERE event_id = $1", [.text(ids[0])]).scalar.stringValue ?? ""
        #expect(error.contains(app.url), "\(error)")
        let back = try FlaskApp(base: h.base, signingKey: Self.signingKey, eventKey: Self.eventKey, root: h.root, counters: app.counters,
                                port: app.port)
        defer { back.stop() }
        try await Self.onThread { try back.waitUntilListening() }
        let run = try await Self.ended(h, function: "bl-app-py-square", event: ids[0])
        #expect(run["status"].stringValue == "completed", "\(run["error"].stringValue ?? "")")
        #expect(Self.json(run, "output") == .object(["squared": 25]))
    }

    @Test("a slow app: the call times out after the per-request timeout and the attempt is retried")
    func slowAppTimesOut() async throws {
        let (h, app) = try await Self.start(configureEngine: { $0.worker.http.requestTimeout = 1 })
        defer { app.stop(); Task { await h.stop() } }
        app.hold("load-candidates")
        let ids = try await Self.send(h, #"{"name": "jobs/imported", "data": {"job_ids": ["j1"], "batch_id": "slow"}}"#)
        try await Self.onThread {
            try Poll.until("the slow call to time out") {
                let error = try h.conn.query("SELECT error::text FROM blacklight.runs WHERE event_id = $1", [.text(ids[0])]).scalar.stringValue
                return error?.contains("did not answer") == true || error?.contains("timed out") == true
            }
        }
        app.release("load-candidates")
        let run = try await Self.ended(h, function: "bl-app-match-jobs-to-candidates", event: ids[0])
        #expect(run["status"].stringValue == "completed", "\(run["error"].stringValue ?? "")")
        #expect(app.count("load-jobs") == 1, "a memoized step does not run again")
    }


    @Test("a `blacklight worker` SIGKILLed in the middle of an http run: the memoized steps do not run again, the run completes")
    func sigkilledWorkerDoesNotRerunMemoizedSteps() async throws {
        let (h, app) = try await Self.start(engine: false)
        defer { app.stop(); Task { await h.stop() } }
        func worker() throws -> ServeProcess {
            try ServeProcess(databaseURL: h.url, root: h.root, command: "worker", extra: ["--lease-seconds", "2"],
                             environment: ["INNGEST_SIGNING_KEY": Self.signingKey, "INNGEST_EVENT_KEY": Self.eventKey])
        }
        app.hold("load-candidates")
        let first = try worker()
        let ids = try await Self.send(h, #"{"name": "jobs/imported", "data": {"job_ids": ["j1", "j2"], "batch_id": "kill"}}"#)
        try await Self.onThread {
            try Poll.until("the second step to be running in the app") { app.count("load-candidates") == 1 }
        }
        #expect(try h.count("SELECT count(*) FROM blacklight.steps s JOIN blacklight.runs r ON r.id = s.run_id WHERE r.event_id = $1 AND s.key = 'load-jobs' AND s.status = 'completed'",
                            [.text(ids[0])]) == 1, "the first step's memo is committed before the app is called again")
        first.kill9()
        app.release("load-candidates")
        let second = try worker()
        defer { second.terminate() }
        let run = try await Self.ended(h, function: "bl-app-match-jobs-to-candidates", event: ids[0])
        #expect(run["status"].stringValue == "completed", "\(run["error"].stringValue ?? "")\n\(second.log)")
        #expect(Self.json(run, "output") == .object(["jobs": 2, "matches": 4, "batch_id": "kill"]))
        #expect(app.count("load-jobs") == 1, "the memoized step did not run again")
        #expect(app.count("load-candidates") == 2, "the step that was running when the worker died ran again (at least once, as on Inngest)")
        #expect(app.count("score-matches") == 1)
        #expect(app.count("store-matches") == 1)
    }


    @Test("an http run's steps show in the REST API and on the run page; rerun and rerun-from-step work as for Lua runs")
    func rerunFromStep() async throws {
        let (h, app) = try await Self.start()
        defer { app.stop(); Task { await h.stop() } }
        let auth = ["Authorization": "Bearer \(Self.signingKey)"]
        let ids = try await Self.send(h, #"{"name": "jobs/imported", "data": {"job_ids": ["j1", "j2"], "batch_id": "b2"}}"#)
        let first = try await Self.ended(h, function: "bl-app-match-jobs-to-candidates", event: ids[0])
        let runID = try #require(first["id"].stringValue)
        let shown = try await h.get("/api/runs/\(runID)", headers: auth)
        #expect(shown.json["steps"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
                == ["load-jobs", "load-candidates", "score-matches", "store-matches"], "\(shown.text)")
        let page = try await h.get("/runs/\(runID)", headers: auth)
        #expect(page.text.contains("score-matches"))

        // From `score-matches` with an edited output: the steps before it replay, it is not run, the rest runs live.
        let edited = #"{"step": "score-matches", "output": [{"job": "j1", "candidate": "c1", "score": 90.0}]}"#
        let rerun = try await h.post("/api/runs/\(runID)/rerun", edited, headers: auth)
        #expect((200..<300).contains(rerun.status), "\(rerun.text)")
        let newID = try #require(rerun.json["run_id"]?.stringValue ?? rerun.json["id"]?.stringValue, "\(rerun.text)")
        try await Self.onThread {
            try Poll.until("the rerun to complete") {
                try h.count("SELECT count(*) FROM blacklight.runs WHERE id = $1 AND status = 'completed'", [.text(newID)]) == 1
            }
        }
        let output = try h.conn.query("SELECT output::text FROM blacklight.runs WHERE id = $1", [.text(newID)]).scalar.stringValue ?? ""
        #expect(try JSONValue.parse(output) == .object(["jobs": 2, "matches": 1, "batch_id": "b2"]))
        #expect(app.count("load-jobs") == 1 && app.count("load-candidates") == 1 && app.count("score-matches") == 1)
        #expect(app.count("store-matches") == 2)

        // A plain rerun runs everything again, for the same event.
        let again = try await h.post("/api/runs/\(runID)/rerun", "{}", headers: auth)
        let againID = try #require(again.json["run_id"]?.stringValue ?? again.json["id"]?.stringValue, "\(again.text)")
        try await Self.onThread {
            try Poll.until("the plain rerun to complete") {
                try h.count("SELECT count(*) FROM blacklight.runs WHERE id = $1 AND status = 'completed'", [.text(againID)]) == 1
            }
        }
        #expect(app.count("load-jobs") == 2)
    }

    @Test("dev mode: the SDK with INNGEST_DEV=1 syncs and runs against a keyless server (nothing signed)")
    func devModeWithoutKeys() async throws {
        let h = try await ServerHarness.start(scripts: ["lua-double.lua": Self.luaDouble], engine: true)
        defer { Task { await h.stop() } }
        let app = try FlaskApp(base: h.base, signingKey: nil, eventKey: nil, root: h.root)
        defer { app.stop() }
        try await Self.onThread { try app.waitUntilListening() }
        let sync = try await h.post("/api/apps/sync", #"{"url": "\#(app.url)"}"#)
        #expect(sync.status == 200, "\(sync.text)\n\(app.log)")
        let reply = try await h.post("/e/any-key", #"{"name": "test/invoke", "data": {}}"#)
        let id = try #require(reply.json["ids"]?[0]?.stringValue)
        let run = try await Self.ended(h, function: "bl-app-invoker", event: id)
        #expect(Self.json(run, "output") == .object(["from_lua": .object(["doubled": 42])]), "\(run["error"].stringValue ?? "")")
    }

    @Test("signatures: Blacklight's request signature is what the SDK verifies, the SDK's answer signature is what Blacklight verifies")
    func signaturesMatchTheSDK() async throws {
        let body = JSONValue.object(["event": .object(["name": "a/b", "data": .object(["x": .double(1.5), "y": .double(3.0), "z": "é"])]),
                                     "steps": .object([:])])
        let text = body.canonicalized()
        let signature = InngestSignature.sign(Array(text.utf8), key: Self.signingKey)
        let script = """
            import json, sys
            from inngest._internal import net, server_lib
            body = sys.stdin.buffer.read()
            ok = net.validate_request_sig(body=body, headers={"x-inngest-signature": sys.argv[1]}, mode=server_lib.ServerKind.CLOUD,
                                          signing_key=sys.argv[2], signing_key_fallback=None)
            wrong = net.validate_request_sig(body=body, headers={"x-inngest-signature": sys.argv[1]}, mode=server_lib.ServerKind.CLOUD,
                                             signing_key="signkey-test-" + "00" * 32, signing_key_fallback=None)
            answer = b'{"data": 1}'
            print(json.dumps({"ok": isinstance(ok, str), "wrong": isinstance(wrong, str),
                              "response_sig": net.sign_response(answer, sys.argv[2])}))
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sig-\(UUID().uuidString).py")
        try script.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("sig-\(UUID().uuidString).json")
        try text.write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let child = try await ChildProcess.run(["sh", "-c", "python3 \(file.path) '\(signature)' '\(Self.signingKey)' < \(input.path)"])
        #expect(child.status == 0, "\(child.stderr)")
        let result = try JSONValue.parse(child.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(result["ok"] == .bool(true))
        #expect(result["wrong"] == .bool(false))
        let responseSignature = try #require(result["response_sig"]?.stringValue)
        #expect(InngestSignature.verify(Array(#"{"data": 1}"#.utf8), header: responseSignature, key: Self.signingKey))
        #expect(!InngestSignature.verify(Array(#"{"data": 2}"#.utf8), header: responseSignature, key: Self.signingKey))
        #expect(InngestSignature.hashedKey(Self.signingKey) == SHA256.hex(Hex.decode(String(repeating: "8f3a", count: 16)) ?? []))
    }
}
