import Foundation
import PGStore
import TestSupport
import Testing

/// Each test initialises its own scratch cluster (initdb ≈ 1–2 s), so they run one at a time.
@Suite("EmbeddedCluster", .serialized)
struct EmbeddedClusterTests {
    @Test func startStopRestartKeepsDataAndPort() throws {
        let cluster = TestDatabase.scratchCluster("restart")
        defer { cluster.stop() }
        try cluster.start()
        #expect(cluster.isRunning)
        try cluster.start()  // already running: nothing to do
        let port = cluster.port
        #expect(cluster.url(database: "app") == "postgresql://blacklight@127.0.0.1:\(port)/app")
        try cluster.createDatabase("app")
        do {
            let conn = try PGConnection(url: cluster.url(database: "app"))
            try conn.execScript("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42);")
            #expect(try conn.query("SHOW fsync").scalar == .text("on"))
            #expect(try conn.query("SELECT current_user").scalar == .text("blacklight"))
        }

        cluster.stop()
        #expect(!cluster.isRunning)
        cluster.stop()  // already stopped: fine
        #expect(throws: PGError.self) { try PGConnection(url: cluster.url(database: "app")) }

        try cluster.start()
        #expect(cluster.port == port)
        let conn = try PGConnection(url: cluster.url(database: "app"))
        #expect(try conn.query("SELECT x FROM kept").scalar == .int(42))
        let viaSocket = try PGConnection(url: cluster.socketURL(database: "app"))
        #expect(try viaSocket.query("SELECT x FROM kept").scalar == .int(42))
    }

    @Test func startAdoptsARunningServerAndClearsStaleFiles() throws {
        let first = TestDatabase.scratchCluster("crashed")
        try first.start()
        let startedAt = try PGConnection(url: first.url()).query("SELECT pg_postmaster_start_time()").scalar
        // A new process (a new object) finds the server still running on the directory and uses it as it is.
        let second = EmbeddedCluster(directory: first.directory)
        defer { second.stop() }
        #expect(second.isRunning)
        try second.start()
        #expect(second.port == first.port)
        #expect(try PGConnection(url: second.url()).query("SELECT pg_postmaster_start_time()").scalar == startedAt)
        second.stop()
        #expect(!first.isRunning)

        // A postmaster.pid naming a dead process, as a crash or power loss leaves it.
        let pidFile = first.directory.appendingPathComponent("data/postmaster.pid")
        try "999999\n\(first.directory.path)/data\n".write(to: pidFile, atomically: true, encoding: .utf8)
        try second.start()
        #expect(try PGConnection(url: second.url()).query("SELECT 1").scalar == .int(1))
    }

    @Test func anOccupiedStoredPortIsReplaced() throws {
        let cluster = TestDatabase.scratchCluster("moved")
        defer { cluster.stop() }
        try cluster.start()
        let oldPort = cluster.port
        cluster.stop()
        // Someone else takes the port meanwhile.
        let squatter = TestDatabase.scratchCluster("squatter", port: oldPort)
        defer { squatter.stop() }
        try squatter.start()
        try cluster.start()
        #expect(cluster.port != oldPort)
        #expect(try PGConnection(url: cluster.url()).query("SELECT 1").scalar == .int(1))
    }

    @Test(.enabled(if: getuid() == 0, "only root switches to an unprivileged user"))
    func unreachableDirectoryIsExplained() throws {
        let locked = URL(fileURLWithPath: "/tmp/blacklight-test-\(getpid())/locked-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: locked) }
        chmod(locked.path, 0o700)
        let cluster = EmbeddedCluster(directory: locked.appendingPathComponent("cluster"))
        let error = #expect(throws: PGError.self) { try cluster.start() }
        #expect(error?.code == .clusterSetup)
        #expect(error?.message.contains("cannot enter \(locked.path)") == true)
        #expect(error?.message.contains("chmod o+x \(locked.path)") == true)
    }

    @Test func databaseNamesAreValidated() throws {
        let cluster = try TestDatabase.cluster()
        for bad in ["", "Upper", "semi;colon", "quote\"", String(repeating: "a", count: 64)] {
            let error = #expect(throws: PGError.self) { try cluster.createDatabase(bad) }
            #expect(error?.code == .invalidArgument)
        }
    }
}

@Suite("TestDatabase")
struct TestDatabaseTests {
    @Test func templatesArePreparedOnceAndClonedPerCall() throws {
        let calls = ResultBox<Int>(count: 1)
        calls.set(0, .success(0))
        let prepare: @Sendable (PGConnection) throws -> Void = { conn in
            calls.set(0, .success(((try? calls.all[0].get()) ?? 0) + 1))
            try conn.execScript("CREATE TABLE seeded (x int); INSERT INTO seeded VALUES (1);")
        }
        let urls = onThreads(6) { _ in try TestDatabase.fresh(prepare: prepare, templateKey: "seeded-test") }
            .compactMap { try? $0.get() }
        #expect(urls.count == 6)
        #expect(Set(urls).count == 6)
        #expect(try calls.all[0].get() == 1)
        for url in urls {
            let conn = try PGConnection(url: url)
            #expect(try conn.query("SELECT count(*) FROM seeded").scalar == .int(1))
            try conn.exec("INSERT INTO seeded VALUES (2)")  // independent copies
        }
        let plain = try PGConnection(url: TestDatabase.fresh())
        #expect(try plain.query("SELECT to_regclass('seeded') IS NULL").scalar == .bool(true))
    }

    @Test func aFailedPreparationIsRetried() throws {
        struct Nope: Error {}
        #expect(throws: Nope.self) { try TestDatabase.fresh(prepare: { _ in throw Nope() }, templateKey: "retry") }
        let url = try TestDatabase.fresh(prepare: { try $0.execScript("CREATE TABLE ok (x int)") }, templateKey: "retry")
        #expect(try PGConnection(url: url).query("SELECT to_regclass('ok') IS NOT NULL").scalar == .bool(true))
    }
}
