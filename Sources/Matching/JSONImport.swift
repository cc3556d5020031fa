import BlacklightCore
import Foundation
import PGStore

/// Inserts JSON objects into job_postings or candidates, binding each known column; unknown keys
/// are refused with the line's key named, so a typo does not load half a row silently.
public enum JSONImport {
    static let jobColumns: [String: String] = [
        "title": "text", "company": "text", "description": "text", "skills": "text[]", "requirements": "text",
        "normalized_role_id": "bigint", "status": "text", "posted_date": "date", "location": "text", "is_remote": "boolean",
        "salary_min": "int", "salary_max": "int", "experience_min_years": "int", "source": "text", "external_id": "text",
    ]
    static let candidateColumns: [String: String] = [
        "tenant_id": "text", "first_name": "text", "last_name": "text", "email": "text", "headline": "text", "summary": "text",
        "status": "text", "skills": "text[]", "preferred_roles": "jsonb", "years_experience": "int", "location": "text",
        "willing_to_relocate": "boolean", "expected_salary": "int",
    ]

    public static func insert(kind: String, rows: [JSONValue], conn: PGConnection) throws -> [Int64] {
        let (table, columns) = kind == "jobs" ? ("job_postings", jobColumns) : ("candidates", candidateColumns)
        var ids: [Int64] = []
        for (i, row) in rows.enumerated() {
            guard case .object(let fields) = row else { throw MatchingError("row \(i + 1) is not a JSON object") }
            var names: [String] = [], casts: [String] = [], params: [PGValue] = []
            for key in fields.keys.sorted() {
                guard let type = columns[key] else {
                    throw MatchingError("row \(i + 1): unknown field '\(key)' for \(table) (known: \(columns.keys.sorted().joined(separator: ", ")))")
                }
                let value = fields[key]!
                names.append(key)  // from the fixed column list above, never from input
                casts.append("$\(params.count + 1)::\(type)")
                switch value {
                case .null: params.append(.null)
                case .bool(let b): params.append(.bool(b))
                case .int(let n): params.append(.int(n))
                case .double(let d): params.append(.double(d))
                case .string(let s): params.append(.text(s))
                case .array(let items) where type == "text[]": params.append(.array(items.map { $0.stringValue.map { .text($0) } ?? .null }))
                default: params.append(.json(value.serialized()))
                }
            }
            if kind == "candidates", fields["tenant_id"] == nil { throw MatchingError("row \(i + 1): candidates need a 'tenant_id'") }
            if kind == "jobs", fields["title"] == nil { throw MatchingError("row \(i + 1): jobs need a 'title'") }
            let sql = "INSERT INTO \(table) (\(names.joined(separator: ", "))) VALUES (\(casts.joined(separator: ", "))) RETURNING id"
            ids.append(try conn.query(sql, params).rows.first?[0].intValue ?? 0)
        }
        return ids
    }
}
