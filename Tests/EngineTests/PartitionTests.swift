import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

/// A real network partition: a `blacklight worker` in its own network namespace loses its link to PostgreSQL in the
/// middle of a step, silently (no RST, no FIN), as a failed switch would cut it off. Another worker on the host takes
/// its runs over after the lease; when the link comes back the cut-off worker commits nothing.
@Suite("Network partition", .serialized)
struct PartitionTests {
    static let runCount = 3

    @Test("cut off inside a transactional step: the server drops the silent session and frees its runs within seconds; another worker applies each effect once; back online, the cut-off worker commits nothing")
    func cutInsideTransactionalStep() throws {
        // Keepalives that declare the link dead after about 3 s, on the client and (mirrored by the engine) on the
        // server's end of each session: the server must notice the silent client by itself, since its backend holds
        // the open batch transaction and with it the row locks of every run of the batch, whatever their lease says.
        let p = try Partition(keepalives: "keepalives_idle=1&keepalives_interval=1&keepalives_count=2&tcp_user_timeout=3000",
                              script: """
            return workflow {
              id = "cut",
              triggers = { { event = "test/cut" } },
              retries = 2,
              run = function(ctx, step)
                return step.run("effect", function()
                  -- The effect, in the step's transaction: it must be applied exactly once per run.
                  db.exec("INSERT INTO effects (run_id, attempt, client) VALUES ($1, $2, host(inet_client_addr()))",
                          ctx.run_id, ctx.attempt)
                  db.exec("SELECT nextval('entered')")  -- not transactional: the test sees that a worker is here
                  while not db.one("SELECT open FROM gate").open do db.exec("SELECT pg_sleep(0.05)") end
                  return ctx.attempt
                end)
              end,
            }
            """)
        defer { p.close() }
        let h = p.harness
        try p.cutMidStep()
        try p.startLocalWorker()

        let clientSessions = "SELECT count(*) FROM pg_stat_activity WHERE client_addr = $1::inet"
        do {
            try Poll.until("the server dropping the cut-off worker's sessions (their backends hold the runs' row locks)") {
                try h.scalar(clientSessions, [.text(p.ns.namespaceAddress)]).intValue == 0
            }
        } catch let timeout as PollTimeout {
            throw PollTimeout(what: timeout.what + "; still there:\n" + (try p.cutOffSessions()), seconds: timeout.seconds)
        }
        let dropped = p.sinceCut
        try p.waitForTakeover()
        let takeover = p.sinceCut
        let back = try p.restoreAndWaitForCutOffWorker()
        print("partition (transactional step): the server dropped the cut-off worker's sessions \(Self.seconds(dropped)) "
            + "after the cut; its runs were taken over and completed \(Self.seconds(takeover)) after it; the cut-off worker "
            + "was claiming again \(Self.seconds(back)) after the link came back")

        #expect(p.cutOff.log.contains("worker:"), "the cut-off worker noticed its lost connection\n\(p.cutOff.log)")
        try p.checkOutcome(effectsPerRun: 1, stepsPerRun: ["effect"])
        // The cut-off worker entered the step once, the other worker once per run.
        #expect(try h.scalar("SELECT last_value FROM entered").intValue == Int64(1 + Self.runCount))
    }

    @Test("cut off inside a transaction = false step, back before either end gives up on the connection: the worker finds its runs taken over and writes nothing for them")
    func cutOutsideTheTransaction() throws {
        // Generous keepalives: the connections outlive the partition, so the cut-off worker carries on where it was
        // once the link is back, and only its fencing keeps it from writing runs that are no longer its.
        let p = try Partition(keepalives: "keepalives_idle=60&keepalives_interval=10&keepalives_count=3&tcp_user_timeout=120000",
                              script: """
            return workflow {
              id = "cut",
              triggers = { { event = "test/cut" } },
              retries = 2,
              run = function(ctx, step)
                step.run("wait", { transaction = false }, function()
                  db.exec("SELECT nextval('entered')")
                  while not db.one("SELECT open FROM gate").open do db.exec("SELECT pg_sleep(0.05)") end
                  db.exec("SELECT nextval('passed')")
                end)
                return step.run("effect", function()
                  db.exec("INSERT INTO effects (run_id, attempt, client) VALUES ($1, $2, host(inet_client_addr()))",
                          ctx.run_id, ctx.attempt)
                  return ctx.attempt
                end)
              end,
            }
            """)
        defer { p.close() }
        let h = p.harness
        try p.cutMidStep()
        try p.startLocalWorker()
        // Outside a transaction the cut-off worker holds no row locks: the runs are free once their lease expires.
        try p.waitForTakeover()
        let takeover = p.sinceCut
        #expect(try h.scalar("SELECT count(*) FROM pg_stat_activity WHERE client_addr = $1::inet", [.text(p.ns.namespaceAddress)])
            .intValue ?? 0 > 0, "the cut-off worker's sessions outlive the partition")
        let back = try p.restoreAndWaitForCutOffWorker()
        print("partition (transaction = false step): runs taken over and completed \(Self.seconds(takeover)) after the cut; "
            + "the cut-off worker, its connection intact, was claiming again \(Self.seconds(back)) after the link came back")

        try p.checkOutcome(effectsPerRun: 1, stepsPerRun: ["effect", "wait"])
        // Its step ran to its end once the link was back (every worker passed the gate once per run it executed), and
        // then the fence, not an error, stopped the run: the batch ended without a failure in its log.
        #expect(try h.scalar("SELECT last_value FROM passed").intValue == Int64(1 + PartitionTests.runCount))
        #expect(!p.cutOff.log.contains("worker:"), "\(p.cutOff.log)")
        #expect(try h.scalar("SELECT count(*) FROM pg_stat_activity WHERE client_addr = $1::inet AND backend_start < $2",
                             [.text(p.ns.namespaceAddress), .timestamp(p.cutAt)]).intValue ?? 0 > 0,
                "the cut-off worker still uses the connections it had before the cut")
    }

    static func seconds(_ t: TimeInterval) -> String { String(format: "%.1f s", t) }
}

/// One partition scenario: a namespace, a cluster reachable from it, a worker inside it that claims every run in one
/// batch and is stopped at a gate in the first run's step, and later a worker on the host.
final class Partition {
    let ns: NetworkNamespace
    let cluster: EmbeddedCluster
    let harness: Harness
    let cutOff: Child
    private(set) var local: Child?
    private(set) var cutAt = Date()
    /// Writes committed from the namespace's address once the other worker had completed the runs.
    private var writesAfterTakeover: Int64 = -1
    private static let env = ["BLACKLIGHT_LEASE_SECONDS": "2", "BLACKLIGHT_RETRY_BASE_DELAY": "0.05"]

    init(keepalives: String, script: String) throws {
        do {
            ns = try NetworkNamespace()
        } catch {
            // Not a skip: this is the proof of fencing under a real partition, so a machine that cannot run it must show
            // up as a failure.
            throw NamespaceError(message: "cannot create a network namespace with a veth pair (needs root and "
                + "iproute2's `ip netns`): \(error)")
        }
        var made: (EmbeddedCluster?, Harness?) = (nil, nil)
        do {
            let cluster = try TestDatabase.scratchCluster(ns.name, listenOn: [ns.hostAddress], trusting: ["\(ns.namespaceAddress)/32"])
            made.0 = cluster
            try cluster.start()
            try cluster.createDatabase("partition")
            let admin = try PGConnection(url: cluster.url(database: "partition"))
            defer { admin.close() }
            _ = try EngineMigrations.migrator().migrate(admin)
            let h = try Harness(url: cluster.url(database: "partition"), scripts: ["cut.lua": script], setupSQL: Self.setupSQL)
            made.1 = h
            try h.load()
            for n in 0..<PartitionTests.runCount { try h.send("test/cut", ["n": .int(Int64(n))]) }
            let url = "postgresql://blacklight@\(ns.hostAddress):\(cluster.port)/partition?\(keepalives)&connect_timeout=2"
            let (ip, args) = try ns.exec([Harness.executable.path, "worker", "--database-url", url, "--dir", h.root.path,
                                          "--workers", "1"])
            cutOff = try Child(executable: ip, args, logFile: h.root.appendingPathComponent("cut-off.log"), env: Self.env)
            self.cluster = cluster
            harness = h
        } catch {
            made.0?.stop()
            ns.remove()
            throw error
        }
    }

    /// Stops the workers, then the cluster, then removes the namespace: call it on every path (defer).
    func close() {
        local?.stop()
        cutOff.stop()
        cluster.stop()
        ns.remove()
    }

    var sinceCut: TimeInterval { Date().timeIntervalSince(cutAt) }

    /// `writes` logs every committed write to the engine's tables and to the effects, with the address of the session
    /// that made it (in `public`: the `blacklight` user's search path would put it in the engine's schema).
    static let setupSQL = """
        CREATE TABLE effects (run_id text NOT NULL, attempt int NOT NULL, client text);
        CREATE SEQUENCE entered; CREATE SEQUENCE passed;
        CREATE TABLE gate (open boolean NOT NULL); INSERT INTO gate VALUES (false);
        CREATE TABLE public.writes (tbl text NOT NULL, op text NOT NULL, client text, at timestamptz NOT NULL DEFAULT clock_timestamp());
        CREATE FUNCTION public.audit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO public.writes (tbl, op, client) VALUES (TG_TABLE_NAME, TG_OP, host(inet_client_addr()));
            RETURN NULL;
        END $$;
        CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON blacklight.runs FOR EACH ROW EXECUTE FUNCTION public.audit();
        CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON blacklight.steps FOR EACH ROW EXECUTE FUNCTION public.audit();
        CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON blacklight.run_logs FOR EACH ROW EXECUTE FUNCTION public.audit();
        CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON effects FOR EACH ROW EXECUTE FUNCTION public.audit();
        """

    /// Waits until the worker in the namespace is inside the first run's step with every run claimed, cuts the link,
    /// and opens the gate (from now on a worker that reaches the step goes straight through it).
    func cutMidStep() throws {
        let h = harness
        try Poll.until("the worker in the namespace inside a step\n\(cutOff.log)") {
            try h.scalar("SELECT last_value FROM entered WHERE is_called").intValue == 1
        }
        let claims = try h.conn.query("SELECT DISTINCT locked_by FROM blacklight.runs").rows.compactMap { $0[0].stringValue }
        #expect(claims.count == 1, "one claim holds every run: \(claims)")
        #expect(try h.scalar("SELECT count(*) FROM blacklight.runs WHERE locked_by IS NOT NULL").intValue == Int64(PartitionTests.runCount))
        cutAt = Date()
        try ns.cut()
        try h.conn.exec("UPDATE gate SET open = true")
    }

    /// A worker on the host side, over loopback.
    func startLocalWorker() throws {
        local = try Child(executable: Harness.executable,
                          ["worker", "--database-url", cluster.url(database: "partition"), "--dir", harness.root.path, "--workers", "1"],
                          logFile: harness.root.appendingPathComponent("local.log"), env: Self.env)
    }

    /// Waits until every run is completed (by the worker on the host: the other one is cut off), then counts what the
    /// cut-off worker has committed so far.
    func waitForTakeover() throws {
        let h = harness
        try Poll.until("the other worker completing the runs\n\(local?.log ?? "")") {
            try h.scalar("SELECT count(*) FROM blacklight.runs WHERE status = 'completed'").intValue == Int64(PartitionTests.runCount)
        }
        writesAfterTakeover = try h.scalar("SELECT count(*) FROM writes WHERE client = $1", [.text(ns.namespaceAddress)]).intValue ?? -1
    }

    /// Restores the link and waits until the cut-off worker is claiming again: by then it has done whatever it does
    /// with the runs it held (finish or abandon its batch, release the runs it never started). Returns the seconds.
    func restoreAndWaitForCutOffWorker() throws -> TimeInterval {
        try ns.restore()
        let restoredAt = Date()
        let h = harness
        // The claim and the idle check lock with "FOR UPDATE SKIP LOCKED"; the heartbeat's "FOR UPDATE OF r" does not
        // match. The worker's last statement before the cut was the step's, so a match is a claim made after it.
        try Poll.until("the cut-off worker claiming again after the link came back\n\(cutOff.log)") {
            try h.scalar("SELECT count(*) FROM pg_stat_activity WHERE client_addr = $1::inet AND query LIKE '%FOR UPDATE SKIP LOCKED%'",
                         [.text(ns.namespaceAddress)]).intValue ?? 0 > 0
        }
        return Date().timeIntervalSince(restoredAt)
    }

    /// Each effect once, all by the worker that took over; every run completed by its second attempt; nothing
    /// committed by the cut-off worker since the takeover.
    func checkOutcome(effectsPerRun: Int, stepsPerRun: [String]) throws {
        let h = harness
        let n = Int64(PartitionTests.runCount)
        #expect(cutOff.process.isRunning, "the cut-off worker recovers instead of exiting\n\(cutOff.log)")
        #expect(try h.scalar("SELECT count(*) FROM effects").intValue == n * Int64(effectsPerRun))
        #expect(try h.scalar("SELECT count(DISTINCT run_id) FROM effects").intValue == n)
        #expect(try h.scalar("SELECT count(*) FROM effects WHERE client = $1", [.text(ns.namespaceAddress)]).intValue == 0)
        #expect(try h.scalar("SELECT count(*) FROM effects WHERE attempt = 2").intValue == n * Int64(effectsPerRun))
        let writes = try h.scalar("SELECT count(*) FROM writes WHERE client = $1", [.text(ns.namespaceAddress)]).intValue
        #expect(writes == writesAfterTakeover, "the cut-off worker committed \((writes ?? 0) - writesAfterTakeover) writes after the takeover")
        for run in try h.runs(function: "cut") {
            let id = run["id"].stringValue ?? ""
            #expect(run["status"].stringValue == "completed")
            // The lost attempt counts (the claim saw the stale lease); the result is the second attempt's.
            #expect(run["attempt"].intValue == 2)
            #expect(h.output(run) == 2)
            #expect(run["locked_by"].isNull, "no claim left on \(id)")
            let steps = try h.steps(id)
            #expect(steps.compactMap { $0["key"].stringValue }.sorted() == stepsPerRun, "steps of \(id)")
            #expect(steps.allSatisfy { $0["status"].stringValue == "completed" }, "steps of \(id) completed")
        }
    }

    /// The sessions the server still has from the namespace (a diagnostic for a failure).
    func cutOffSessions() throws -> String {
        try harness.conn.query("""
            SELECT pid::text, state, wait_event, (backend_xid IS NOT NULL)::text AS writing, left(query, 50) AS query
            FROM pg_stat_activity WHERE client_addr = $1::inet
            """, [.text(ns.namespaceAddress)]).rows.map { row in
                (0..<5).map { row[$0].stringValue ?? "-" }.joined(separator: " | ")
            }.joined(separator: "\n")
    }

    /// A child process whose output goes to a file (a pipe nobody reads would block a worker that logs a lot).
    final class Child {
        let process: SpawnedProcess
        let logFile: URL

        init(executable: URL, _ args: [String], logFile: URL, env: [String: String]) throws {
            self.logFile = logFile
            var environment = ProcessInfo.processInfo.environment
            for (k, v) in env { environment[k] = v }
            process = try SpawnedProcess(executable: executable.path, arguments: args, environment: environment,
                                         outputPath: logFile.path)
        }

        var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

        /// SIGKILL: a worker cut off from its database may be stuck in a call that only its own timeouts end.
        func stop() {
            process.kill9()
        }

        deinit { stop() }
    }
}
