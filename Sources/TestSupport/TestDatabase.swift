import Foundation
import PGStore
import Synchronization

/// Databases for tests: one private PostgreSQL cluster per test process, and a fresh database per suite cloned
/// from a template that is prepared (migrated, seeded) once.
///
/// Cloning (`CREATE DATABASE x TEMPLATE t`) copies the prepared database instead of replaying the preparation, so
/// suites get independent databases and can run in parallel. A clone measured ≈0.1–0.2 s here (the copy is written
/// and fsynced; PostgreSQL 15's FILE_COPY strategy was no faster than the default WAL_LOG), so tests that can share
/// a database should.
public enum TestDatabase {
    /// The process's cluster under `/tmp/blacklight-test-<pid>/`, started on first use (concurrent callers wait
    /// for it), stopped and deleted when the process exits, including on SIGINT/SIGTERM and crashes. Clusters
    /// left behind by test processes that died harder (SIGKILL) are stopped and deleted on the next first use.
    public static func cluster() throws -> EmbeddedCluster {
        try state.withLock { (state: inout State) throws -> EmbeddedCluster in
            if let cluster = state.cluster { return cluster }
            TestCleanup.installOnce()
            TestCleanup.sweepStaleRuns()
            // More connections than the default 100: engine suites run in parallel, each with a worker pool.
            let cluster = EmbeddedCluster(
                directory: TestCleanup.runDirectory.appendingPathComponent("shared"),
                settings: ["max_connections": "300"])
            TestCleanup.register(cluster)
            try cluster.start()
            state.cluster = cluster
            return cluster
        }
    }

    /// Creates a new database and returns its URL.
    ///
    /// The database is a clone of the template for `templateKey`, which is built once per process by the first
    /// caller with that key: an empty database with `prepare` applied (later callers' `prepare` is not run, so use
    /// one key per kind of preparation, e.g. "engine" for a migrated schema). Concurrent first callers wait
    /// for the one building it. A failed preparation is retried by the next caller.
    public static func fresh(prepare: ((PGConnection) throws -> Void)? = nil, templateKey: String = "plain") throws
        -> String
    {
        let cluster = try cluster()
        let key = sanitized(templateKey)
        let template = state.withLock { state in
            if let existing = state.templates[key] { return existing }
            let created = Template(name: "tpl_\(key)")
            state.templates[key] = created
            return created
        }
        try template.build(in: cluster, prepare: prepare)
        let name = "t_\(key)_\(counter.add(1, ordering: .relaxed).newValue)"
        try cluster.createDatabase(name, template: template.name)
        return cluster.url(database: name)
    }

    /// An extra cluster under this process's test directory (for tests that start, stop and restart one),
    /// stopped and deleted with the process like the shared one. Not started.
    public static func scratchCluster(_ name: String, port: Int? = nil, settings: [String: String] = [:]) -> EmbeddedCluster {
        TestCleanup.installOnce()
        let cluster = EmbeddedCluster(
            directory: TestCleanup.runDirectory.appendingPathComponent("scratch-\(sanitized(name))"), port: port,
            settings: settings)
        TestCleanup.register(cluster)
        return cluster
    }

    /// A scratch cluster that also listens on `addresses` and trusts clients from `clientNetworks` (CIDR, e.g.
    /// "198.18.0.2/32"), for tests that reach it over another interface (a network namespace's veth pair). The
    /// addresses must be configured before `start()`. Not started.
    public static func scratchCluster(_ name: String, listenOn addresses: [String], trusting clientNetworks: [String],
                                      settings: [String: String] = [:]) throws -> EmbeddedCluster {
        var all = settings
        all["listen_addresses"] = (["127.0.0.1"] + addresses).joined(separator: ",")
        // initdb's pg_hba.conf only trusts the local socket and loopback; a file of our own replaces it. It lives in
        // the cluster's folder, which start() gives to the server's OS user; the file stays readable by everyone.
        let directory = TestCleanup.runDirectory.appendingPathComponent("scratch-\(sanitized(name))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let hba = directory.appendingPathComponent("pg_hba.conf")
        let lines = ["local all all trust", "host all all 127.0.0.1/32 trust", "host all all ::1/128 trust"]
            + clientNetworks.map { "host all all \($0) trust" }
        try (lines.joined(separator: "\n") + "\n").write(to: hba, atomically: true, encoding: .utf8)
        _ = chmod(hba.path, 0o644)
        all["hba_file"] = hba.path
        return scratchCluster(name, settings: all)
    }

    // MARK: - Internals

    private struct State {
        var cluster: EmbeddedCluster?
        var templates: [String: Template] = [:]
    }

    private static let state = Mutex(State())
    private static let counter = Atomic<Int>(0)

    /// A template database, built at most once; its own lock lets other templates be cloned meanwhile.
    private final class Template: Sendable {
        let name: String
        private let built = Mutex(false)

        init(name: String) { self.name = name }

        func build(in cluster: EmbeddedCluster, prepare: ((PGConnection) throws -> Void)?) throws {
            try built.withLock { (built: inout Bool) throws in
                if built { return }
                let admin = try PGConnection(url: cluster.url())
                defer { admin.close() }
                // Left over from a preparation that failed earlier in this process.
                try admin.execScript("DROP DATABASE IF EXISTS \(name)")
                try cluster.createDatabase(name)
                if let prepare {
                    let conn = try PGConnection(url: cluster.url(database: name))
                    defer { conn.close() }
                    try prepare(conn)
                }
                // Nothing may connect to a template while it is cloned; this makes a stray connection fail loudly
                // instead of making CREATE DATABASE wait and then fail.
                try admin.execScript("ALTER DATABASE \(name) WITH ALLOW_CONNECTIONS false")
                built = true
            }
        }
    }

    /// Template keys become part of database names: [a-z0-9_], short.
    static func sanitized(_ key: String) -> String {
        let mapped = String(
            key.lowercased().unicodeScalars.map { c -> Character in
                (c >= "a" && c <= "z") || (c >= "0" && c <= "9") ? Character(c) : "_"
            })
        guard !mapped.isEmpty else { return "plain" }
        if mapped == key && mapped.count <= 30 { return mapped }
        // Changed or long keys get a checksum so "a-b" and "a_b" stay different templates.
        var hash: UInt32 = 2_166_136_261
        for byte in key.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return String(mapped.prefix(30)) + "_" + String(hash, radix: 16)
    }
}
