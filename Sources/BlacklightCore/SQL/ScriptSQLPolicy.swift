/// Which statements a workflow script may send on the worker's shared connection.
///
/// A script's SQL runs inside the worker's batch transaction, in the step's savepoint. Transaction control
/// (`COMMIT`, `ROLLBACK`, `SAVEPOINT`, ...) would end or split that transaction under the batch-mates' feet, and
/// session state (`SET` without `LOCAL`, `RESET`, `DISCARD`, `LISTEN`, prepared statements, `LOAD`) would leak into
/// the next run on the connection. Those are refused before they reach the server. Only the leading keyword
/// matters: libpq's extended protocol already refuses several statements in one call, and a function that changes
/// session state (`set_config(..., false)`) is undone by the session reset after each run.
public enum ScriptSQLPolicy {
    /// Leading keywords that are always refused, with the reason a person reads.
    static let refused: [String: String] = [
        "BEGIN": "transaction control", "START": "transaction control", "COMMIT": "transaction control",
        "END": "transaction control", "ROLLBACK": "transaction control", "ABORT": "transaction control",
        "SAVEPOINT": "transaction control", "RELEASE": "transaction control", "PREPARE": "session state",
        "EXECUTE": "session state", "DEALLOCATE": "session state", "RESET": "session state",
        "DISCARD": "session state", "LISTEN": "session state", "UNLISTEN": "session state",
        "LOAD": "loading server libraries", "COPY": "server-side COPY",
        "VACUUM": "maintenance", "CHECKPOINT": "maintenance", "CLUSTER": "maintenance",
    ]

    /// Nil when `sql` may run; otherwise the refusal, naming the statement and what to do instead.
    public static func refusal(_ sql: String) -> String? {
        var words = LeadingWords(sql)
        guard let first = words.next() else { return nil }
        if first == "SET" {
            let second = words.next()
            if second == "LOCAL" { return nil }
            return "SET without LOCAL changes the session shared with other runs; use SET LOCAL (it ends with the "
                + "step's transaction)"
        }
        guard let reason = refused[first] else { return nil }
        if reason == "transaction control" {
            return "\(first) is transaction control, which the engine owns: each step already runs in its own "
                + "savepoint and commits with its memo; db.tx(fn) runs part of a step in a nested one, and "
                + "step.run(id, { transaction = false }, fn) runs a step outside the transaction"
        }
        return "\(first) is not allowed in scripts (\(reason) would outlive the run on the shared connection)"
    }

    /// Upper-cased words at the start of a statement, skipping white space, `--` and (nested) `/* */` comments
    /// and opening parentheses.
    struct LeadingWords {
        private let bytes: [UInt8]
        private var i = 0

        init(_ sql: String) {
            bytes = Array(sql.utf8.prefix(4096))
        }

        mutating func next() -> String? {
            skipNoise()
            var word: [UInt8] = []
            while i < bytes.count, Self.isWordByte(bytes[i]) {
                word.append(bytes[i] >= 97 && bytes[i] <= 122 ? bytes[i] - 32 : bytes[i])
                i += 1
            }
            return word.isEmpty ? nil : String(decoding: word, as: UTF8.self)
        }

        private static func isWordByte(_ b: UInt8) -> Bool {
            (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95
        }

        private mutating func skipNoise() {
            while i < bytes.count {
                let b = bytes[i]
                if b == 32 || b == 9 || b == 10 || b == 13 || b == 12 || b == 40 {
                    i += 1
                } else if b == 45, i + 1 < bytes.count, bytes[i + 1] == 45 {
                    while i < bytes.count, bytes[i] != 10 { i += 1 }
                } else if b == 47, i + 1 < bytes.count, bytes[i + 1] == 42 {
                    var depth = 0
                    while i < bytes.count {
                        if bytes[i] == 47, i + 1 < bytes.count, bytes[i + 1] == 42 {
                            depth += 1
                            i += 2
                        } else if bytes[i] == 42, i + 1 < bytes.count, bytes[i + 1] == 47 {
                            depth -= 1
                            i += 2
                            if depth == 0 { break }
                        } else {
                            i += 1
                        }
                    }
                } else {
                    return
                }
            }
        }
    }
}
