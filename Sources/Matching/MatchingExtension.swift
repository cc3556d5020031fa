import BlacklightCore
import Engine
import Foundation
import LuaHost
import PGStore
import VectorScoring

/// The job-matching layer's Lua API: `vec` (vectors as userdata, cosine/dot, top-k over the cached
/// active-job embeddings, many-against-many), `embed` (the configured embedding provider) and
/// `match` (native per-pair scoring with the rules from plugins/matching.lua, and storing matches).
public struct MatchingExtension: HostExtension {
    public let provider: EmbeddingProvider
    public var dimension: Int { provider.dimension }

    public init(provider: EmbeddingProvider = .fromEnvironment()) {
        self.provider = provider
    }

    public func install(into context: HostExtensionContext) throws {
        let vm = context.vm
        VectorBox.install(vm)
        let toLua: ([Float]) -> LuaValue = { vm.pushableUserdata(VectorBox(Vector($0)), type: VectorBox.typeName) }
        let make: (Vector) -> LuaValue = { vm.pushableUserdata(VectorBox($0), type: VectorBox.typeName) }
        context.setVectorBridge(VectorBridge(toLua: toLua, fromLua: { ref in (vm.object(of: ref) as? VectorBox)?.vector.values }))
        // Through the step's savepoint, like db.*: the writes go with a failing step, a SQL error ends the step alone.
        let database = context.database
        let dimension = self.dimension
        let provider = self.provider
        // Each function reads its arguments through VectorArguments, which checks them and names the function
        // in every refusal; no script value reaches VectorScoring unchecked.
        let arguments = { (name: String) in VectorArguments(vm: vm, function: name) }

        vm.setGlobalTable("vec", functions: [
            "new": { args in [make(try arguments("vec.new").vector(args, 1))] },
            "normalize": { args in [make(try arguments("vec.normalize").vector(args, 1).normalized())] },
            "dot": { args in
                let f = arguments("vec.dot")
                let a = try f.vector(args, 1), b = try f.vector(args, 2)
                return [.number(Double(try f.scoring { try VectorMath.dot(a, b) }))]
            },
            "cosine": { args in
                let f = arguments("vec.cosine")
                let a = try f.vector(args, 1), b = try f.vector(args, 2)
                return [.number(Double(try f.scoring { try VectorMath.cosine(a, b) }))]
            },
            "is": { args in
                [.bool({ if case .userdata(let ref) = args[1] { return vm.object(of: ref) is VectorBox } else { return false } }())]
            },
            // Top-k cosine of one query over the cached embeddings of active jobs.
            "top_k": { args in
                let f = arguments("vec.top_k")
                let query = try f.vector(args, 1)
                let opts = try args.optionalTable(2, name: "vec.top_k") ?? LuaTable()
                let k = try f.k(opts["k"]), threshold = try f.threshold(opts["threshold"])
                let precision = try f.precision(opts["precision"])
                // The cache holds one dimension; a query of another would rebuild it empty for every call.
                guard query.dimension == dimension else {
                    throw MatchingError("vec.top_k: the query has dimension \(query.dimension), the job embeddings have \(dimension)")
                }
                let hits = try f.scoring {
                    let index = try database.run("vec.top_k") { conn in try JobCache.shared.refresh(conn, dimension: dimension) }
                    return try index.topK(query.normalized(), k: k, threshold: threshold, precision: precision)
                }
                return [.table(LuaTable(array: hits.map { .table(LuaTable.from(["id": .int($0.id), "score": .number(Double($0.score))])) }))]
            },
            // Cosine of every vector in `a` against every vector in `b`: rows follow `a`.
            "matrix": { args in
                let f = arguments("vec.matrix")
                let a = try f.vectors(args, 1), b = try f.vectors(args, 2)
                try f.checkMatrix(a, b)
                let m = try f.scoring { try BatchScoring.cosineMatrix(a, b) }
                return [.table(LuaTable(array: m.map { row in .table(LuaTable(array: row.map { .number(Double($0)) })) }))]
            },
        ])

        // Vectors are only comparable with vectors of the same embedder, so every embedding call names its embedder to
        // the transaction it runs in, and the app schema's trigger stores that name with any embedding written there
        // (embedding_model, 0002_embedding_model.sql): the workflows write embeddings as before and the rows still say
        // which embedder made them. Transaction-local, so it ends with the step (or is undone with its savepoint).
        let identity = provider.identity
        let recordEmbedder = { (function: String) throws -> Void in
            try database.run(function) { conn in
                _ = try conn.exec("SELECT set_config('blacklight.embedding_model', $1, true)", [.text(identity)])
            }
        }

        vm.setGlobalTable("embed", functions: [
            "text": { args in
                let text = try args.string(1, name: "embed.text")
                let skills = (try args.optionalTable(2, name: "embed.text"))?.array.compactMap(\.asString) ?? []
                guard let v = try provider.embed([(text, skills)]).first else { return [.nil] }
                try recordEmbedder("embed.text")
                return [make(v)]
            },
            // embed.batch({ {text = ..., skills = {...}}, ... }) → list of vectors, in order.
            "batch": { args in
                let items = try args.table(1, name: "embed.batch").array
                let inputs = try items.enumerated().map { i, item -> (text: String, skills: [String]) in
                    switch item {
                    case .string(let s): return (s, [])
                    case .table(let t):
                        guard let text = t["text"]?.asString else { throw MatchingError("embed.batch: item \(i + 1) needs 'text'") }
                        return (text, t["skills"]?.asTable?.array.compactMap(\.asString) ?? [])
                    default: throw MatchingError("embed.batch: item \(i + 1) must be a string or {text = ..., skills = {...}}")
                    }
                }
                let vectors = try provider.embed(inputs)
                try recordEmbedder("embed.batch")
                return [.table(LuaTable(array: vectors.map(make)))]
            },
            // Which provider is active: "minilm:all-minilm-l6-v2", "hashing:384" or "openai:MODEL@HOST".
            "provider": { _ in [.string(provider.name)] },
            // The embedder and version stored with each vector (embedding_model), e.g. "all-minilm-l6-v2@1:53aa5117".
            "model": { _ in [.string(identity)] },
            "dimension": { _ in [.int(Int64(dimension))] },
        ])

        vm.setGlobalTable("match", functions: [
            // match.store(pairs_sql, params, rules, {mode = "insert_new" | "upsert" | "replace_candidate"})
            "store": { args in
                let sql = try args.string(1, name: "match.store")
                let params = (try args.optionalTable(2, name: "match.store"))?.array ?? []
                let rules = Self.rules(try args.optionalTable(3, name: "match.store"))
                let opts = try args.optionalTable(4, name: "match.store") ?? LuaTable()
                let modeName = opts["mode"]?.asString ?? "insert_new"
                guard let mode = MatchStore.Mode(rawValue: modeName) else {
                    throw MatchingError("match.store: unknown mode '\(modeName)' (use insert_new, upsert or replace_candidate)")
                }
                let bound = try params.map(Self.parameter)
                let stats = try database.run("match.store") { conn in
                    try MatchStore(conn: conn, rules: rules, dimension: dimension).store(pairsSQL: sql, params: bound, mode: mode)
                }
                return [.table(LuaTable.from(["pairs": .int(Int64(stats.pairs)), "stored": .int(Int64(stats.stored)),
                                              "recommended": .int(Int64(stats.recommended)), "removed": .int(Int64(stats.removed))]))]
            },
            // match.score(candidate_id, job_id, rules) → the components, skills and reasons of one pair.
            "score": { args in
                let c = try args.int(1, name: "match.score"), j = try args.int(2, name: "match.score")
                let rules = Self.rules(try args.optionalTable(3, name: "match.score"))
                let scored = try database.run("match.score") { conn in
                    try MatchStore(conn: conn, rules: rules, dimension: dimension).score([(c, j)])
                }
                guard let r = scored.first?.2 else { return [.nil] }
                return [.table(LuaTable.from([
                    "match_score": .number(r.matchScore), "skill_match_score": .number(r.skillScore),
                    "experience_match_score": .number(r.experienceScore), "location_match_score": .number(r.locationScore),
                    "salary_match_score": .number(r.salaryScore), "semantic_similarity": .number(r.semanticSimilarity),
                    "matched_skills": .table(LuaTable(array: r.matchedSkills.map { .string($0) })),
                    "missing_skills": .table(LuaTable(array: r.missingSkills.map { .string($0) })),
                    "match_reasons": .table(LuaTable(array: r.reasons.map { .string($0) })),
                    "is_recommended": .bool(r.isRecommended), "is_stored": .bool(r.isStored),
                ]))]
            },
        ])
    }

    static func parameter(_ value: LuaValue) throws -> PGValue {
        switch value {
        case .nil: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .number(let d): return .double(d)
        case .string(let s): return .text(s)
        case .table(let t) where t.hash.isEmpty: return .array(try t.array.map(parameter))
        default: throw MatchingError("match.store: parameters must be numbers, strings, booleans or lists of them")
        }
    }

    /// Reads the rules table from plugins/matching.lua; anything missing keeps the default.
    static func rules(_ table: LuaTable?) -> MatchRules {
        var r = MatchRules()
        guard let t = table else { return r }
        if let w = t["weights"]?.asTable {
            r.skillWeight = w["skills"]?.asDouble ?? r.skillWeight
            r.semanticWeight = w["semantic"]?.asDouble ?? r.semanticWeight
            r.experienceWeight = w["experience"]?.asDouble ?? r.experienceWeight
            r.locationWeight = w["location"]?.asDouble ?? r.locationWeight
            r.salaryWeight = w["salary"]?.asDouble ?? r.salaryWeight
        }
        r.storeThreshold = t["store_threshold"]?.asDouble ?? r.storeThreshold
        r.recommendThreshold = t["recommend_threshold"]?.asDouble ?? r.recommendThreshold
        r.unknownScore = t["unknown_score"]?.asDouble ?? r.unknownScore
        r.remoteScore = t["remote_score"]?.asDouble ?? r.remoteScore
        r.relocateScore = t["relocate_score"]?.asDouble ?? r.relocateScore
        r.otherLocationScore = t["other_location_score"]?.asDouble ?? r.otherLocationScore
        r.salaryPenaltyPerPercent = t["salary_penalty_per_percent"]?.asDouble ?? r.salaryPenaltyPerPercent
        return r
    }
}
