import BlacklightCore
import Engine
import Foundation
import Matching
import PGStore
import TestSupport

/// A harness with the app's tables and the repository's real scripts/ and plugins/.
enum MatchingFixture {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func harness(extraPlugins: [String: String] = [:], setupSQL: String? = nil,
                        provider: EmbeddingProvider = .local(.init(dimension: 384))) throws -> Harness {
        let (scripts, plugins) = try sources(extraPlugins: extraPlugins)
        let h = try Harness(scripts: scripts, plugins: plugins, setupSQL: setupSQL, migrations: [try AppSchema.migrator()],
                            templateKey: "app")
        return try loaded(h, provider: provider)
    }

    /// Another harness on the database of `h`, whose workers embed with `provider`: how a deployment looks after its
    /// embedder changed.
    static func harness(sharing h: Harness, provider: EmbeddingProvider) throws -> Harness {
        let (scripts, plugins) = try sources(extraPlugins: [:])
        return try loaded(Harness(url: h.url, scripts: scripts, plugins: plugins), provider: provider)
    }

    private static func loaded(_ h: Harness, provider: EmbeddingProvider) throws -> Harness {
        h.services.extensions = [MatchingExtension(provider: provider)]
        let result = try h.load()
        guard result.errors.isEmpty else { throw MatchingError("scripts failed to load: \(result.errors)") }
        return h
    }

    /// The repository's scripts/ and plugins/ (plus `extraPlugins`).
    private static func sources(extraPlugins: [String: String]) throws -> (scripts: [String: String], plugins: [String: String]) {
        var scripts: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: repo.appendingPathComponent("scripts").path) where name.hasSuffix(".lua") {
            scripts[name] = try String(contentsOf: repo.appendingPathComponent("scripts/\(name)"), encoding: .utf8)
        }
        var plugins: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: repo.appendingPathComponent("plugins").path) where name.hasSuffix(".lua") {
            plugins[String(name.dropLast(4))] = try String(contentsOf: repo.appendingPathComponent("plugins/\(name)"), encoding: .utf8)
        }
        for (k, v) in extraPlugins { plugins[k] = v }
        return (scripts, plugins)
    }

    /// The sentence model where bin/fetch-model puts it (bin/test runs it first), loaded once per process. Tests that need
    /// it fail, never skip, when it is missing.
    static func sentenceProvider() throws -> EmbeddingProvider {
        let resolution = EmbeddingProvider.resolve(["BLACKLIGHT_MODEL_DIR": modelDirectory.path])
        if let reason = resolution.fallbackReason {
            throw MatchingError("the sentence model is needed: \(reason)")
        }
        return resolution.provider
    }

    static var modelDirectory: URL {
        if let path = ProcessInfo.processInfo.environment["BLACKLIGHT_MODEL_DIR"], !path.isEmpty { return URL(fileURLWithPath: path) }
        return repo.appendingPathComponent(EmbeddingProvider.defaultModelPath)
    }

    /// Inserts a role and returns its id.
    static func role(_ h: Harness, _ name: String) throws -> Int64 {
        try h.conn.query("INSERT INTO global_roles (name) VALUES ($1) RETURNING id", [.text(name)]).rows[0][0].intValue!
    }

    @discardableResult
    static func job(_ h: Harness, title: String = "Data Scientist", role: Int64?, skills: [String] = ["Python", "SQL", "Statistics"],
                    location: String = "Berlin, Germany", remote: Bool = false, salaryMax: Int? = 90_000, experience: Int? = 2,
                    posted: String? = nil, imported: String? = nil) throws -> Int64 {
        try h.conn.query("""
            INSERT INTO job_postings (title, description, skills, normalized_role_id, location, is_remote, salary_min, salary_max,
                                      experience_min_years, posted_date, imported_at)
            VALUES ($1, $2, $3::text[], $4, $5, $6, $7, $8, $9, coalesce($10::date, current_date), coalesce($11::timestamptz, now()))
            RETURNING id
            """, [.text(title), .text("We need a \(title) to build models."), .array(skills.map { .text($0) }),
                  role.map { .int($0) } ?? .null, .text(location), .bool(remote), salaryMax.map { .int(Int64($0 - 20_000)) } ?? .null,
                  salaryMax.map { .int(Int64($0)) } ?? .null, experience.map { .int(Int64($0)) } ?? .null,
                  posted.map { .text($0) } ?? .null, imported.map { .text($0) } ?? .null]).rows[0][0].intValue!
    }

    @discardableResult
    static func candidate(_ h: Harness, tenant: String = "t1", status: String = "approved", prefers: JSONValue,
                          skills: [String] = ["Python", "SQL", "Statistics"], location: String = "Berlin, Germany",
                          years: Int = 3, salary: Int = 80_000, embedded: Bool = true) throws -> Int64 {
        let id = try h.conn.query("""
            INSERT INTO candidates (tenant_id, first_name, status, skills, preferred_roles, years_experience, location, expected_salary, headline)
            VALUES ($1, 'Test', $2, $3::text[], $4::jsonb, $5, $6, $7, 'Data scientist building models') RETURNING id
            """, [.text(tenant), .text(status), .array(skills.map { .text($0) }), .json(prefers.serialized()), .int(Int64(years)),
                  .text(location), .int(Int64(salary))]).rows[0][0].intValue!
        if embedded {
            let v = LocalEmbedderVector.embed("Data scientist building models", skills: skills)
            try h.conn.exec("UPDATE candidates SET embedding = $1 WHERE id = $2", [.float4Array(v), .int(id)])
        }
        return id
    }

    static func matches(_ h: Harness) throws -> [PGRow] {
        try h.conn.query("SELECT * FROM candidate_job_matches ORDER BY candidate_id, job_posting_id").rows
    }
}

import VectorScoring
enum LocalEmbedderVector {
    static func embed(_ text: String, skills: [String]) -> [Float] {
        LocalEmbedder(dimension: 384).embed(text, skills: skills).values
    }
}
