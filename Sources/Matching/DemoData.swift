import BlacklightCore
import Foundation
import PGStore

/// Builds demo and benchmark data from O*NET and SkillSpan: every O*NET occupation as a global role,
/// SkillSpan postings plus jobs made from O*NET alternate titles, task statements and technology
/// skills, and candidates whose skills and preferred roles come from the same roles.
public struct DemoData {
    public var data: ONetData
    public var seed: UInt64 = 42

    public init(data: ONetData) { self.data = data }

    static let cities = ["Berlin, Germany", "London, UK", "New York, NY", "Austin, TX", "Paris, France", "Toronto, Canada",
                         "Amsterdam, Netherlands", "Chicago, IL", "Madrid, Spain", "Seattle, WA"]
    static let firstNames = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger",
                             "Radia", "Tim", "Katherine", "John", "Hedy", "Donald"]
    static let lastNames = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen",
                            "Dijkstra", "Perlman", "Berners-Lee", "Johnson", "Backus", "Lamarr", "Knuth"]

    /// Inserts all roles (idempotent by O*NET code); returns role id by O*NET code.
    @discardableResult
    public func insertRoles(_ conn: PGConnection) throws -> [String: Int64] {
        let roles = data.roles
        try conn.exec("""
            INSERT INTO global_roles (name, onet_code, description, job_zone)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
            ON CONFLICT DO NOTHING
            """, [.array(roles.map { .text($0.title) }), .array(roles.map { .text($0.code) }),
                  .array(roles.map { .text($0.description) }), .array(roles.map { $0.jobZone.map { .int(Int64($0)) } ?? .null })])
        var ids: [String: Int64] = [:]
        for row in try conn.query("SELECT id, onet_code FROM global_roles WHERE onet_code IS NOT NULL").rows {
            if let code = row[1].stringValue, let id = row[0].intValue { ids[code] = id }
        }
        return ids
    }

    /// Roles that make good demo material: with technology skills and tasks.
    var richRoles: [ONetData.Role] { data.roles.filter { $0.skills.count >= 5 && $0.tasks.count >= 3 } }

    /// Inserts `count` synthetic jobs over `roleCount` roles (plus the SkillSpan postings when asked); returns their ids.
    public func insertJobs(_ conn: PGConnection, roleIDs: [String: Int64], count: Int, roleCount: Int = 60,
                           includePostings: Bool = true, source: String = "demo", embeddings: [[Float]]? = nil) throws -> [Int64] {
        var rng = SplitMix64(seed: seed &+ 1)
        let roles = Array(richRoles.prefix(roleCount))
        guard !roles.isEmpty else { throw MatchingError("no O*NET roles with skills and tasks were found") }
        var titles: [String] = [], descriptions: [String] = [], skills: [String] = [], roleCol: [PGValue] = []
        var locations: [String] = [], remote: [Bool] = [], smin: [Int64] = [], smax: [Int64] = [], exp: [Int64] = []
        var externals: [PGValue] = []
        func add(title: String, description: String, skillList: [String], role: ONetData.Role?, external: String?) {
            titles.append(title)
            descriptions.append(description)
            skills.append(JSONValue.array(skillList.map { .string($0) }).serialized())
            roleCol.append(role.flatMap { roleIDs[$0.code] }.map { .int($0) } ?? .null)
            locations.append(Self.cities[Int(rng.next() % UInt64(Self.cities.count))])
            remote.append(rng.next() % 5 == 0)
            let zone = Int64(role?.jobZone ?? 3)
            let base = 30_000 + zone * 15_000 + Int64(rng.next() % 20) * 1_000
            smin.append(base)
            smax.append(base + 20_000)
            exp.append([0, 0, 1, 2, 4, 6][Int(zone)])
            externals.append(external.map { .text($0) } ?? .null)
        }
        if includePostings {
            for posting in data.postings {
                let role = bestRole(for: posting.title, among: roles)
                add(title: posting.title, description: posting.description, skillList: posting.skills, role: role,
                    external: posting.externalID)
            }
        }
        for i in 0..<max(0, count - (includePostings ? data.postings.count : 0)) {
            let role = roles[i % roles.count]
            let title = role.alternateTitles.isEmpty ? role.title : role.alternateTitles[Int(rng.next() % UInt64(role.alternateTitles.count))]
            let tasks = (0..<3).map { _ in role.tasks[Int(rng.next() % UInt64(role.tasks.count))] }
            let skillList = rng.sample(role.skills, 6)
            add(title: title, description: "\(role.title). " + tasks.joined(separator: " "), skillList: skillList, role: role,
                external: nil)
        }
        let embeddingValues: PGValue = embeddings.map { list in .array(list.map { .text("{" + $0.map { "\($0)" }.joined(separator: ",") + "}") }) } ?? .array(titles.map { _ in .null })
        var ids: [Int64] = []
        for start in stride(from: 0, to: titles.count, by: 5_000) {
            let r = start..<min(titles.count, start + 5_000)
            let chunkEmbeddings: PGValue
            if case .array(let all) = embeddingValues { chunkEmbeddings = .array(Array(all[r])) } else { chunkEmbeddings = .null }
            let result = try conn.query("""
                INSERT INTO job_postings (title, description, skills, normalized_role_id, location, is_remote, salary_min,
                                          salary_max, experience_min_years, external_id, source, posted_date, embedding)
                SELECT t, d, ARRAY(SELECT jsonb_array_elements_text(s)), r, l, rem, smin, smax, e, x, $11, current_date, emb::real[]
                FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::bigint[], $5::text[], $6::bool[], $7::int[], $8::int[],
                            $9::int[], $10::text[], $12::text[]) AS u(t, d, s, r, l, rem, smin, smax, e, x, emb)
                ON CONFLICT (external_id) DO NOTHING
                RETURNING id
                """, [.array(titles[r].map { .text($0) }), .array(descriptions[r].map { .text($0) }), .array(skills[r].map { .text($0) }),
                      .array(Array(roleCol[r])), .array(locations[r].map { .text($0) }), .array(remote[r].map { .bool($0) }),
                      .array(smin[r].map { .int($0) }), .array(smax[r].map { .int($0) }), .array(exp[r].map { .int($0) }),
                      .array(Array(externals[r])), .text(source), chunkEmbeddings])
            ids += result.rows.compactMap { $0[0].intValue }
        }
        return ids
    }

    /// Inserts `count` candidates for tenant `tenant`; `preferringShare` of them prefer one of the
    /// first `roleCount` rich roles (by name or by id), the rest prefer other roles.
    public func insertCandidates(_ conn: PGConnection, roleIDs: [String: Int64], count: Int, tenant: String = "demo",
                                 roleCount: Int = 60, preferringShare: Double = 1.0,
                                 embed: ((_ text: String, _ skills: [String]) -> [Float])? = nil) throws -> [Int64] {
        var rng = SplitMix64(seed: seed &+ 2)
        let rich = richRoles
        let preferred = Array(rich.prefix(roleCount))
        let others = rich.count > roleCount ? Array(rich.dropFirst(roleCount)) : preferred
        var cols: [[PGValue]] = Array(repeating: [], count: 11)
        var embeddingTexts: [PGValue] = []
        for i in 0..<count {
            let prefers = Double(rng.next() % 1000) / 1000 < preferringShare
            let pool = prefers ? preferred : others
            let role = pool[Int(rng.next() % UInt64(pool.count))]
            let byName = rng.next() % 2 == 0
            let pref: JSONValue = byName ? .array([.string(role.title.lowercased())]) : .array([.int(roleIDs[role.code] ?? 0)])
            let zone = role.jobZone ?? 3
            let years = max(0, [0, 0, 1, 2, 4, 6][zone] + Int(rng.next() % 5) - 2)
            let first = Self.firstNames[i % Self.firstNames.count], last = Self.lastNames[(i / Self.firstNames.count) % Self.lastNames.count]
            let values: [PGValue] = [
                .text(tenant), .text(first), .text(last), .text(rng.next() % 10 < 8 ? "approved" : "pending_review"),
                .text(JSONValue.array(rng.sample(role.skills, 5).map { .string($0) }).serialized()), .text(pref.serialized()),
                .int(Int64(years)), .text(Self.cities[Int(rng.next() % UInt64(Self.cities.count))]), .bool(rng.next() % 3 == 0),
                .int(Int64(40_000 + zone * 15_000 + Int(rng.next() % 30) * 1_000)),
                .text("\(role.title) with \(years) years of experience"),
            ]
            for (c, v) in values.enumerated() { cols[c].append(v) }
            if let embed, case .text(let headline) = values[10], case .text(let skillJSON) = values[4] {
                let skills = (try? JSONValue.parse(skillJSON))?.arrayValue?.compactMap(\.stringValue) ?? []
                embeddingTexts.append(.text("{" + embed(headline, skills).map { "\($0)" }.joined(separator: ",") + "}"))
            } else {
                embeddingTexts.append(.null)
            }
        }
        let emb: PGValue = .array(embeddingTexts)
        var ids: [Int64] = []
        for start in stride(from: 0, to: count, by: 5_000) {
            let r = start..<min(count, start + 5_000)
            var params = cols.map { PGValue.array(Array($0[r])) }
            if case .array(let all) = emb { params.append(.array(Array(all[r]))) }
            let result = try conn.query("""
                INSERT INTO candidates (tenant_id, first_name, last_name, status, skills, preferred_roles, years_experience,
                                        location, willing_to_relocate, expected_salary, headline, embedding)
                SELECT t, f, l, s, ARRAY(SELECT jsonb_array_elements_text(sk)), p, y, loc, rel, sal, h, emb::real[]
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::int[], $8::text[],
                            $9::bool[], $10::int[], $11::text[], $12::text[]) AS u(t, f, l, s, sk, p, y, loc, rel, sal, h, emb)
                RETURNING id
                """, params)
            ids += result.rows.compactMap { $0[0].intValue }
        }
        return ids
    }

    /// The role whose title or alternate titles share the most words with a posting's title.
    func bestRole(for title: String, among roles: [ONetData.Role]) -> ONetData.Role? {
        let words = Set(title.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init).filter { $0.count > 2 })
        var best: (ONetData.Role, Int)?
        for role in roles {
            let names = [role.title] + role.alternateTitles.prefix(40)
            let score = names.map { name in
                Set(name.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init)).intersection(words).count
            }.max() ?? 0
            if score > (best?.1 ?? 0) { best = (role, score) }
        }
        return best?.0 ?? roles.first
    }
}

/// A small deterministic generator, so demo and benchmark data are the same on every machine.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func sample(_ items: [String], _ n: Int) -> [String] {
        if items.count <= n { return items }
        var chosen: [String] = []
        var used = Set<Int>()
        while chosen.count < n {
            let i = Int(next() % UInt64(items.count))
            if used.insert(i).inserted { chosen.append(items[i]) }
        }
        return chosen
    }
}
