/// Applies numbered migrations to a database, each once, in order, in its own transaction.
///
/// Each migration's transaction first takes a transaction-scoped advisory lock (one fixed key for every
/// Blacklight process), then checks `<schema>.schema_migrations`, records the version and runs the SQL. Two
/// processes starting together therefore queue on the lock, and the second finds the version recorded and skips
/// it. A database that has a version this build does not know is refused: old code must not run on a newer
/// schema.
public struct Migrator: Sendable {
    /// `pg_advisory_xact_lock` key: "blacklig" in ASCII, so it is recognisable in pg_locks.
    static let lockKey: Int64 = 0x626C_6163_6B6C_6967

    public let schema: String
    public let migrations: [Migration]

    public init(schema: String = "blacklight", migrations: [Migration]) {
        self.schema = schema
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Applies every pending migration and returns the versions it applied (empty when up to date).
    public func migrate(_ conn: PGConnection) throws(PGError) -> [Int] {
        try validate()
        let table = try qualifiedTable(conn)
        try locked(conn) { () throws(PGError) in
            try conn.execScript(
                "CREATE SCHEMA IF NOT EXISTS \(try conn.quoteIdentifier(schema)); "
                    + "CREATE TABLE IF NOT EXISTS \(table) (version int PRIMARY KEY, name text NOT NULL, "
                    + "applied_at timestamptz NOT NULL DEFAULT now())")
        }
        var applied: [Int] = []
        for migration in migrations {
            let didApply = try locked(conn) { () throws(PGError) -> Bool in
                // Checked on every step, under the lock: another process may have moved the schema on meanwhile.
                try refuseUnknownVersions(try appliedVersions(conn, table: table))
                let inserted = try conn.exec(
                    "INSERT INTO \(table) (version, name) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING",
                    [.int(Int64(migration.version)), .text(migration.name)])
                guard inserted == 1 else { return false }
                do throws(PGError) {
                    try conn.execScript(migration.sql)
                } catch {
                    throw PGError(
                        code: .migration,
                        message: "migration \(migration.version) (\(migration.name)) failed: \(error.message)",
                        sqlState: error.sqlState, detail: error.detail, hint: error.hint, position: error.position,
                        statement: error.statement)
                }
                return true
            }
            if didApply { applied.append(migration.version) }
        }
        return applied
    }

    /// The versions recorded in the database and the known ones not yet applied. Refuses (like `migrate`) a
    /// database that has versions this build does not know.
    public func status(_ conn: PGConnection) throws(PGError) -> (applied: [Int], pending: [Int]) {
        try validate()
        let table = try qualifiedTable(conn)
        let exists = try conn.query("SELECT to_regclass($1) IS NOT NULL", [.text(table)]).scalar.boolValue ?? false
        let applied = exists ? try appliedVersions(conn, table: table) : []
        try refuseUnknownVersions(applied)
        let done = Set(applied)
        return (applied, migrations.map(\.version).filter { !done.contains($0) })
    }

    // MARK: - Internals

    private func locked<T>(_ conn: PGConnection, _ body: () throws(PGError) -> T) throws(PGError) -> T {
        do {
            return try conn.transaction { () throws -> T in
                try conn.exec("SELECT pg_advisory_xact_lock($1)", [.int(Self.lockKey)])
                return try body()
            }
        } catch let error as PGError {
            throw error
        } catch {
            throw PGError(code: .migration, message: "\(error)")
        }
    }

    private func appliedVersions(_ conn: PGConnection, table: String) throws(PGError) -> [Int] {
        try conn.query("SELECT version FROM \(table) ORDER BY version").rows.compactMap { $0[0].intValue.map(Int.init) }
    }

    private func refuseUnknownVersions(_ applied: [Int]) throws(PGError) {
        let known = Set(migrations.map(\.version))
        let newest = migrations.last?.version ?? 0
        if let top = applied.last, top > newest {
            throw PGError(
                code: .migration,
                message: "database schema is at version \(top) but this build knows only up to \(newest): "
                    + "upgrade blacklight")
        }
        if let unknown = applied.first(where: { !known.contains($0) }) {
            throw PGError(
                code: .migration,
                message: "database has migration \(unknown), which this build does not have: "
                    + "the migration files differ from the ones this database was built with")
        }
    }

    private func validate() throws(PGError) {
        for (a, b) in zip(migrations, migrations.dropFirst()) where a.version == b.version {
            throw PGError(
                code: .migration, message: "migrations \(a.name) and \(b.name) both have version \(a.version)")
        }
    }

    private func qualifiedTable(_ conn: PGConnection) throws(PGError) -> String {
        try conn.quoteIdentifier(schema) + ".schema_migrations"
    }
}
