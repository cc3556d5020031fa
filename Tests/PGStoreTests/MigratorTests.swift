import Foundation
import PGStore
import TestSupport
import Testing

@Suite("Migrations")
struct MigratorTests {
    let url: String
    let conn: PGConnection

    init() throws {
        url = try TestDatabase.fresh()
        conn = try PGConnection(url: url)
    }

    static let v1 = Migration(version: 1, name: "runs", sql: "CREATE TABLE blacklight.runs (id bigint PRIMARY KEY);")
    static let v2 = Migration(
        version: 2, name: "steps",
        sql: "CREATE TABLE blacklight.steps (run_id bigint REFERENCES blacklight.runs); CREATE INDEX ON blacklight.steps (run_id);")
    static let v3 = Migration(version: 3, name: "leases", sql: "ALTER TABLE blacklight.runs ADD COLUMN lease_until timestamptz;")

    func tableExists(_ name: String) throws -> Bool {
        try conn.query("SELECT to_regclass($1) IS NOT NULL", [.text(name)]).scalar == .bool(true)
    }

    @Test func appliesEachMigrationOnce() throws {
        let migrator = Migrator(migrations: [Self.v2, Self.v1])  // order given does not matter
        #expect(try migrator.status(conn).pending == [1, 2])
        #expect(try migrator.migrate(conn) == [1, 2])
        #expect(try migrator.migrate(conn) == [])
        #expect(try tableExists("blacklight.steps"))
        let status = try migrator.status(conn)
        #expect(status.applied == [1, 2])
        #expect(status.pending == [])
        let recorded = try conn.query("SELECT version, name, applied_at FROM blacklight.schema_migrations ORDER BY 1")
        #expect(recorded.rows.map { $0["name"] } == [.text("runs"), .text("steps")])
        #expect(recorded.rows.allSatisfy { $0["applied_at"].dateValue != nil })
        // A later build adds one.
        #expect(try Migrator(migrations: [Self.v1, Self.v2, Self.v3]).migrate(conn) == [3])
    }

    @Test func concurrentMigratorsApplyEachVersionOnce() throws {
        // The first migration is slow, so both threads are inside migrate() together.
        let slow = Migration(version: 1, name: "slow", sql: "SELECT pg_sleep(0.3); CREATE TABLE blacklight.runs (id bigint PRIMARY KEY);")
        let migrations = [slow, Self.v2, Self.v3]
        let url = self.url
        let results = onThreads(4) { _ in
            let conn = try PGConnection(url: url)
            return try Migrator(migrations: migrations).migrate(conn)
        }
        let applied = try results.map { try $0.get() }
        #expect(applied.flatMap { $0 }.sorted() == [1, 2, 3])
        #expect(try conn.query("SELECT count(*) FROM blacklight.schema_migrations").scalar == .int(3))
    }

    @Test func refusesADatabaseAheadOfTheBuild() throws {
        _ = try Migrator(migrations: [Self.v1, Self.v2, Self.v3]).migrate(conn)
        let old = Migrator(migrations: [Self.v1, Self.v2])
        let error = #expect(throws: PGError.self) { try old.migrate(conn) }
        #expect(error?.code == .migration)
        #expect(error?.message == "database schema is at version 3 but this build knows only up to 2: upgrade blacklight")
        #expect(throws: PGError.self) { try old.status(conn) }
    }

    @Test func aFailingMigrationIsNotRecordedAndNamesItself() throws {
        let bad = Migration(version: 2, name: "broken", sql: "CREATE TABLE blacklight.ok (x int); SELECT * FROM nope;")
        let migrator = Migrator(migrations: [Self.v1, bad])
        let error = #expect(throws: PGError.self) { try migrator.migrate(conn) }
        #expect(error?.code == .migration)
        #expect(error?.sqlState == "42P01")
        #expect(error?.message.hasPrefix("migration 2 (broken) failed: relation \"nope\" does not exist") == true)
        #expect(try migrator.status(conn) == (applied: [1], pending: [2]))
        #expect(try !tableExists("blacklight.ok"))
    }

    @Test func customSchemaNamesAreQuoted() throws {
        let migration = Migration(version: 1, name: "x", sql: "CREATE TABLE \"odd Schema\".x (id int);")
        #expect(try Migrator(schema: "odd Schema", migrations: [migration]).migrate(conn) == [1])
        #expect(try tableExists("\"odd Schema\".schema_migrations"))
    }

    @Test func loadsNumberedFilesInOrder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "B".write(to: dir.appendingPathComponent("0010_second.sql"), atomically: true, encoding: .utf8)
        try "A".write(to: dir.appendingPathComponent("0002_first_one.sql"), atomically: true, encoding: .utf8)
        try "notes".write(to: dir.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        let loaded = try Migration.load(directory: dir)
        #expect(loaded == [
            Migration(version: 2, name: "first_one", sql: "A"), Migration(version: 10, name: "second", sql: "B"),
        ])

        try "C".write(to: dir.appendingPathComponent("0002_clash.sql"), atomically: true, encoding: .utf8)
        let duplicate = #expect(throws: PGError.self) { try Migration.load(directory: dir) }
        #expect(duplicate?.message.contains("both have number 2") == true)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("0002_clash.sql"))

        try "D".write(to: dir.appendingPathComponent("third.sql"), atomically: true, encoding: .utf8)
        let misnamed = #expect(throws: PGError.self) { try Migration.load(directory: dir) }
        #expect(misnamed?.message.contains("third.sql") == true)
    }
}
