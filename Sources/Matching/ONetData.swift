import Foundation

/// Reads the O*NET 29.2 files (tab-separated, one header row, CRLF, no quoting) and SkillSpan job
/// postings from the repository's `data/` folder (see data/DATA_SOURCES.md). O*NET: USDOL/ETA, CC BY 4.0. SkillSpan: Zhang et al. 2022, MIT.
public struct ONetData: Sendable {
    public struct Role: Sendable {
        public var code: String
        public var title: String
        public var description: String
        public var jobZone: Int?
        public var skills: [String]
        public var alternateTitles: [String]
        public var tasks: [String]
    }

    public struct Posting: Sendable {
        public var externalID: String
        public var title: String
        public var description: String
        public var skills: [String]
    }

    public var roles: [Role]
    public var postings: [Posting]

    /// Finds the data folder: $BLACKLIGHT_DATA_DIR, else the repository's `data/` (under the project
    /// root, or above the running executable, which lives in the repository's `.build/`).
    public static func locate(from root: URL) -> URL? {
        if let env = ProcessInfo.processInfo.environment["BLACKLIGHT_DATA_DIR"] { return URL(fileURLWithPath: env) }
        var candidates = [root.appendingPathComponent("data")]
        var dir = (Bundle.main.executableURL ?? root).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent("data"))
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("onet/Occupation Data.txt").path) }
    }

    public static func load(_ dir: URL) throws -> ONetData {
        func rows(_ name: String) throws -> [[String]] {
            let url = dir.appendingPathComponent("onet/\(name)")
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw MatchingError("cannot read \(url.path)")
            }
            return text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).dropFirst().map {
                $0.split(separator: "\t", omittingEmptySubsequences: false).map {
                    String($0).trimmingCharacters(in: .whitespacesAndNewlines)
                }
            }
        }
        var roles: [String: Role] = [:]
        var order: [String] = []
        for r in try rows("Occupation Data.txt") where r.count >= 3 {
            roles[r[0]] = Role(code: r[0], title: r[1], description: r[2], jobZone: nil, skills: [], alternateTitles: [], tasks: [])
            order.append(r[0])
        }
        for r in try rows("Job Zones.txt") where r.count >= 2 { roles[r[0]]?.jobZone = Int(r[1]) }
        for r in try rows("Technology Skills.txt") where r.count >= 2 { roles[r[0]]?.skills.append(r[1]) }
        for r in try rows("Alternate Titles.txt") where r.count >= 2 { roles[r[0]]?.alternateTitles.append(r[1]) }
        for r in try rows("Task Statements.txt") where r.count >= 3 { roles[r[0]]?.tasks.append(r[2]) }
        return ONetData(roles: order.compactMap { roles[$0] }, postings: try loadPostings(dir))
    }

    /// Rebuilds SkillSpan postings: lines grouped by (file, source, idx), tokens joined; skills are
    /// the knowledge spans (B-/I- tags), which are mostly hard skills (tools, languages).
    static func loadPostings(_ dir: URL) throws -> [Posting] {
        var postings: [Posting] = []
        for file in ["train", "dev", "test"] {
            let url = dir.appendingPathComponent("skillspan/\(file).json")
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
            var current: (key: String, lines: [String], skills: [String])?
            func flush() {
                guard let c = current, !c.lines.isEmpty else { return }
                let title = c.lines.first.map { String($0.prefix(120)) } ?? "Job posting"
                var seen = Set<String>()
                let skills = c.skills.filter { seen.insert($0.lowercased()).inserted }
                postings.append(Posting(externalID: "skillspan:" + c.key, title: title,
                                        description: c.lines.joined(separator: "\n"), skills: Array(skills.prefix(15))))
            }
            for line in text.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let tokens = object["tokens"] as? [String] else { continue }
                let key = "\(file):\(object["source"] as? String ?? ""):\(object["idx"] as? Int ?? 0)"
                if current?.key != key {
                    flush()
                    current = (key, [], [])
                }
                current?.lines.append(tokens.joined(separator: " "))
                let tags = object["tags_knowledge"] as? [String] ?? []
                var span: [String] = []
                for (i, tag) in tags.enumerated() where i < tokens.count {
                    if tag.hasPrefix("B") {
                        if !span.isEmpty { current?.skills.append(span.joined(separator: " ")) }
                        span = [tokens[i]]
                    } else if tag.hasPrefix("I"), !span.isEmpty {
                        span.append(tokens[i])
                    } else if !span.isEmpty {
                        current?.skills.append(span.joined(separator: " "))
                        span = []
                    }
                }
                if !span.isEmpty { current?.skills.append(span.joined(separator: " ")) }
            }
            flush()
        }
        return postings
    }
}
