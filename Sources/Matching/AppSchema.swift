import Foundation
import PGStore

/// The job-matching app's tables (numbered SQL in Migrations/), tracked in public.schema_migrations.
public enum AppSchema {
    public static func migrator() throws -> Migrator {
        guard let url = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw MatchingError("the app's migrations are missing from the build")
        }
        return Migrator(schema: "public", migrations: try Migration.load(directory: url))
    }
}

/// The Matching module's error: what went wrong, written to be read.
public struct MatchingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
