import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

/// `blacklight runs cancel|replay` and `blacklight functions pause|resume`, run as processes.
@Suite("Bulk CLI", .serialized)
struct BulkCLITests {
    func count(_ h: Harness, _ sql: String) throws -> Int { Int(try h.scalar(sql).intValue ?? -1) }

    @Test("runs replay/cancel: --dry-run prints the count and changes nothing; the action prints the count done")
    func replayAndCancel() throws {
        let h = try Harness(scripts: ["flaky.lua": BulkRunsTests.flaky, "napper.lua": BulkRunsTests.napper])
        try h.load()
        for n in 0..<5 { try h.send("test/flaky", ["n": .int(Int64(n)), "fail": .bool(n < 3)]) }
        for _ in 0..<2 { try h.send("test/nap") }
        try h.drain(until: 30) { try count(h, "SELECT count(*) FROM blacklight.runs WHERE status IN ('queued','running')") == 0 }
        let db = ["--database-url", h.url, "--dir", h.root.path]
        func cli(_ args: [String]) throws -> String {
            let (status, out, err) = try RetentionTests.runCLI(args + db)
            #expect(status == 0, "\(args): \(out)\(err)")
            return out
        }
        let since = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3600))
        #expect(try cli(["runs", "replay", "--function", "flaky", "--status", "failed", "--since", since, "--dry-run"]) == "would replay 3 runs\n")
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs") == 7)
        #expect(try cli(["runs", "replay", "--function", "flaky", "--status", "failed", "--rate", "10"])
            == "replayed 3 runs, due over 0.2 s (10 a second)\n")
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs WHERE function_id = 'flaky' AND status = 'queued'") == 3)
        #expect(try cli(["runs", "cancel", "--event", "test/nap", "--dry-run"]) == "would cancel 2 runs\n")
        #expect(try cli(["runs", "cancel", "--status", "sleeping,queued"]) == "cancelled 5 runs\n")
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs WHERE status = 'cancelled'") == 5)
        #expect(try count(h, "SELECT count(*) FROM blacklight.runs WHERE status = 'completed'") == 2)

        let (status, _, err) = try RetentionTests.runCLI(["runs", "cancel", "--status", "done"] + db)
        #expect(status != 0)
        #expect(err.contains("unknown status 'done': use one of queued, running, sleeping, waiting, completed, failed, cancelled"))
        let (status2, _, err2) = try RetentionTests.runCLI(["runs", "replay", "--dry-run"] + db)
        #expect(status2 != 0)
        #expect(err2.contains("name at least one filter (--function, --status, --event, --since, --until)"))
    }

    @Test("functions pause/resume: runs wait while paused and start on resume")
    func pauseAndResume() throws {
        let h = try Harness(scripts: ["flaky.lua": BulkRunsTests.flaky])
        try h.load()
        let db = ["--database-url", h.url, "--dir", h.root.path]
        let (s1, out1, e1) = try RetentionTests.runCLI(["functions", "pause", "flaky"] + db)
        #expect(s1 == 0, "\(e1)")
        #expect(out1 == "flaky paused; 0 runs waiting\n")
        try h.send("test/flaky", ["n": 1])
        try h.drain()
        #expect(try h.onlyRun("flaky")["status"].stringValue == "queued")
        let (_, list, _) = try RetentionTests.runCLI(["functions", "list"] + db)
        #expect(list.contains("PAUSED"))
        let (s2, out2, _) = try RetentionTests.runCLI(["functions", "resume", "flaky"] + db)
        #expect(s2 == 0)
        #expect(out2 == "flaky resumed; 1 runs back in the queue\n")
        try h.drain(until: 30) { try h.onlyRun("flaky")["status"].stringValue == "completed" }
        let (s3, _, e3) = try RetentionTests.runCLI(["functions", "pause", "nope"] + db)
        #expect(s3 != 0)
        #expect(e3.contains("no function with id 'nope'"))
    }
}
