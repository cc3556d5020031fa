/// How a re-executed step's output differs from the stored one, line by line (outputs are
/// pretty-printed first, so nested tables diff by field).
enum OutputDiff {
    static func describe(stored: String?, now: String) -> String {
        guard let stored else { return "no stored output before; now:\n+ " + now.replacingOccurrences(of: "\n", with: "\n+ ") }
        if stored == now { return "same output as stored: \(now)" }
        let a = stored.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = now.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if a.count == 1 && b.count == 1 {
            return "output changed:\n- stored: \(stored)\n+ now:    \(now)"
        }
        return "output changed (- stored, + now):\n" + lines(a, b).joined(separator: "\n")
    }

    /// A longest-common-subsequence line diff; outputs are small, so the quadratic table is fine.
    static func lines(_ a: [String], _ b: [String]) -> [String] {
        let n = a.count, m = b.count
        var lcs = Array(repeating: Array(repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var out: [String] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, a[i] == b[j] {
                out.append("  " + a[i]); i += 1; j += 1
            } else if i < n, j == m || lcs[i + 1][j] >= lcs[i][j + 1] {
                out.append("- " + a[i]); i += 1
            } else {
                out.append("+ " + b[j]); j += 1
            }
        }
        return out
    }
}
