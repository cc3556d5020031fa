import Foundation
import PGStore

/// The engine's numbered SQL migrations, shipped as resources of this module.
public enum EngineMigrations {
    public static func all() throws -> [Migration] {
        guard let url = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw EngineError(.config, "the engine's migrations are missing from the build (Migrations resource)")
        }
        return try Migration.load(directory: url)
    }

    public static func migrator() throws -> Migrator {
        Migrator(schema: "blacklight", migrations: try all())
    }
}
