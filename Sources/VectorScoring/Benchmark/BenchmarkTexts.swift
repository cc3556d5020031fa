import Foundation

/// Real job texts for the embedder benchmark (file reading lives here, in the benchmark, not in the library).
public enum BenchmarkTexts {
    /// A job text with its skills.
    public typealias Text = (text: String, skills: [String])

    /// SkillSpan postings (lines grouped by file, source and idx, tokens joined; the tagged skill and
    /// knowledge spans become the skills) followed by O*NET occupations (their task statements joined).
    /// Reads `<dataDirectory>/skillspan/*.json` and `<dataDirectory>/onet/Task Statements.txt`; missing files
    /// give fewer texts, not an error.
    public static func load(dataDirectory: String) -> [Text] {
        skillSpan(URL(fileURLWithPath: dataDirectory).appendingPathComponent("skillspan"))
            + onetTasks(URL(fileURLWithPath: dataDirectory).appendingPathComponent("onet/Task Statements.txt"))
    }

    static func skillSpan(_ directory: URL) -> [Text] {
        var texts: [Text] = []
        for name in ["train.json", "dev.json", "test.json"] {
            guard let data = try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) else { continue }
            var key: String?
            var lines: [String] = []
            var skills: [String] = []
            func flush() {
                if !lines.isEmpty { texts.append((lines.joined(separator: "\n"), skills)) }
                lines = []
                skills = []
            }
            for line in data.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let tokens = object["tokens"] as? [String] else { continue }
                let lineKey = "\(object["source"] ?? "")/\(object["idx"] ?? "")"
                if lineKey != key {
                    flush()
                    key = lineKey
                }
                lines.append(tokens.joined(separator: " "))
                for tags in [object["tags_skill"], object["tags_knowledge"]] {
                    skills += spans(tokens, tags as? [String] ?? [])
                }
            }
            flush()
        }
        return texts
    }

    /// BIO-tagged spans as phrases.
    static func spans(_ tokens: [String], _ tags: [String]) -> [String] {
        var result: [String] = []
        var current: [String] = []
        for (token, tag) in zip(tokens, tags) {
            if tag == "B" || (tag == "I" && current.isEmpty) {
                if !current.isEmpty { result.append(current.joined(separator: " ")) }
                current = [token]
            } else if tag == "I" {
                current.append(token)
            } else if !current.isEmpty {
                result.append(current.joined(separator: " "))
                current = []
            }
        }
        if !current.isEmpty { result.append(current.joined(separator: " ")) }
        return result
    }

    /// O*NET task statements grouped by occupation (tab-separated, header row, CRLF).
    static func onetTasks(_ file: URL) -> [Text] {
        guard let data = try? String(contentsOf: file, encoding: .utf8) else { return [] }
        var order: [String] = []
        var tasks: [String: [String]] = [:]
        for line in data.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).dropFirst() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count > 2 else { continue }
            let code = String(fields[0])
            if tasks[code] == nil { order.append(code) }
            tasks[code, default: []].append(String(fields[2]))
        }
        return order.map { (tasks[$0]!.joined(separator: " "), []) }
    }
}
