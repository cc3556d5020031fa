import Foundation

/// One numbered plain-SQL migration, e.g. the file `0001_engine.sql` is version 1, name "engine".
///
/// The SQL runs inside a transaction the `Migrator` opens, so it must not contain BEGIN/COMMIT or statements
/// that refuse to run in a transaction (CREATE INDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE before PG 12).
public struct Migration: Sendable, Hashable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Loads every `NNNN_name.sql` file in `directory`, sorted by number. Other files are ignored; a `.sql`
    /// file not named that way, or two files with the same number, is an error (a typo would otherwise silently
    /// skip a migration). Throws `PGError` with code `.migration`.
    public static func load(directory: URL) throws -> [Migration] {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw PGError(code: .migration, message: "cannot list migrations in \(directory.path): \(error)")
        }
        var byVersion: [Int: String] = [:]
        var migrations: [Migration] = []
        for file in files.sorted() where file.hasSuffix(".sql") {
            guard let (version, name) = parse(fileName: file) else {
                throw PGError(
                    code: .migration,
                    message: "migration file \(file) in \(directory.path) is not named NNNN_name.sql")
            }
            if let other = byVersion[version] {
                throw PGError(
                    code: .migration,
                    message: "migrations \(other) and \(file) in \(directory.path) both have number \(version)")
            }
            byVersion[version] = file
            let url = directory.appendingPathComponent(file)
            let sql: String
            do {
                sql = try String(contentsOf: url, encoding: .utf8)
            } catch {
                throw PGError(code: .migration, message: "cannot read migration \(url.path): \(error)")
            }
            migrations.append(Migration(version: version, name: name, sql: sql))
        }
        return migrations.sorted { $0.version < $1.version }
    }

    /// "0007_add_leases.sql" → (7, "add_leases").
    static func parse(fileName: String) -> (Int, String)? {
        let stem = fileName.dropLast(".sql".count)
        guard let underscore = stem.firstIndex(of: "_") else { return nil }
        let digits = stem[..<underscore]
        let name = stem[stem.index(after: underscore)...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), !name.isEmpty,
            let version = Int(digits), version > 0
        else { return nil }
        return (version, String(name))
    }
}
