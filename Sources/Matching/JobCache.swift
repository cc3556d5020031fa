import BlacklightCore
import Foundation
import PGStore
import VectorScoring

/// Active job postings held in memory per worker process: their scoring features and their
/// embeddings in a VectorIndex. Fetching 100,000 rows per request would cost about 100× the scan
/// (VECTOR_NOTES.md), so the cache is kept and checked instead: every use compares a cheap
/// fingerprint of the active set (count, newest updated_at, sum of ids; updated_at moves on every
/// change by trigger) and, when it differs, reloads only the rows whose updated_at changed.
public final class JobCache: @unchecked Sendable {
    public static let shared = JobCache()

    private let lock = NSLock()
    private(set) var index: VectorIndex?
    private var jobs: [Int64: MatchJob] = [:]
    private var versions: [Int64: Date] = [:]
    private var fingerprint: String = ""

    public init() {}

    static let fingerprintSQL = """
        SELECT count(*)::text || ':' || coalesce(max(updated_at)::text, '') || ':' || coalesce(sum(id), 0)::text AS f
        FROM job_postings WHERE status = 'active'
        """

    /// Brings the cache in line with the table; returns the index of active job embeddings.
    @discardableResult
    public func refresh(_ conn: PGConnection, dimension: Int) throws -> VectorIndex {
        lock.lock()
        defer { lock.unlock() }
        let f = try conn.query(Self.fingerprintSQL).rows.first?["f"].stringValue ?? ""
        if let index, f == fingerprint, index.dimension == dimension { return index }
        let index = try (self.index?.dimension == dimension ? self.index : nil) ?? VectorIndex(dimension: dimension)
        if index !== self.index { jobs = [:]; versions = [:] }
        let current = try conn.query("SELECT id, updated_at FROM job_postings WHERE status = 'active'")
        var seen = Set<Int64>()
        var stale: [Int64] = []
        seen.reserveCapacity(current.rows.count)
        for row in current.rows {
            guard let id = row[0].intValue else { continue }
            seen.insert(id)
            if versions[id] != row[1].dateValue { stale.append(id) }
        }
        for id in versions.keys where !seen.contains(id) {
            versions[id] = nil
            jobs[id] = nil
            index.remove(id: id)
        }
        for chunk in stride(from: 0, to: stale.count, by: 20_000) {
            let ids = Array(stale[chunk..<min(stale.count, chunk + 20_000)])
            try load(ids, conn: conn, into: index, dimension: dimension)
        }
        self.index = index
        fingerprint = f
        return index
    }

    private func load(_ ids: [Int64], conn: PGConnection, into index: VectorIndex, dimension: Int) throws {
        let rows = try conn.query("""
            SELECT id, updated_at, skills, experience_min_years, location, is_remote, salary_min, salary_max, embedding
            FROM job_postings WHERE id = ANY($1::bigint[])
            """, [.array(ids.map { .int($0) })])
        var vectorIDs: [Int64] = []
        var vectors: [[Float]] = []
        for row in rows.rows {
            if let id = row["id"].intValue, case .float4Array(let e) = row["embedding"], e.count == dimension {
                vectorIDs.append(id)
                vectors.append(e)
            }
        }
        // Stored first: if the index cannot grow, nothing is recorded as loaded and the next refresh tries again.
        if !vectorIDs.isEmpty { try index.upsert(ids: vectorIDs, vectors: vectors) }
        let embedded = Set(vectorIDs)
        for row in rows.rows {
            guard let id = row["id"].intValue else { continue }
            versions[id] = row["updated_at"].dateValue
            jobs[id] = Self.job(row)
            if !embedded.contains(id) { index.remove(id: id) }
        }
    }

    static func job(_ row: PGRow) -> MatchJob {
        MatchJob(id: row["id"].intValue ?? 0,
                 skills: (row["skills"].arrayValue ?? []).compactMap(\.stringValue),
                 experienceMinYears: row["experience_min_years"].intValue.map(Int.init),
                 location: row["location"].stringValue,
                 isRemote: row["is_remote"].boolValue ?? false,
                 salaryMin: row["salary_min"].intValue.map(Int.init),
                 salaryMax: row["salary_max"].intValue.map(Int.init))
    }

    /// Features of the given active jobs (call after refresh).
    func lookup(_ ids: [Int64]) -> [MatchJob] {
        lock.lock()
        defer { lock.unlock() }
        return ids.compactMap { jobs[$0] }
    }

    /// Cosine of `query` (normalised) with each cached job, nil where a job has no embedding; one
    /// kernel pass instead of copying each stored vector out.
    func similarities(_ query: Vector, ids: [Int64]) throws -> [Float?] {
        lock.lock()
        let index = self.index
        lock.unlock()
        guard let index, index.dimension == query.dimension else { return ids.map { _ in nil } }
        return try index.scores(query, ids: ids)
    }

    func allActiveIDs() -> [Int64] {
        lock.lock()
        defer { lock.unlock() }
        return Array(jobs.keys)
    }
}
