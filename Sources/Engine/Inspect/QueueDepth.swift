import PGStore

/// Unfinished runs by status, and how many of them are due now: the queue gauges of `/metrics`.
///
/// One statement restricted to the unfinished statuses, the predicate of the partial index `runs_due`, so its cost
/// follows the backlog, never the history of ended runs (measured with `blacklight bench metrics`).
public struct QueueDepth: Sendable {
    public static let statuses = ["queued", "running", "sleeping", "waiting"]
    public static let query = """
        SELECT status, count(*) AS n, count(*) FILTER (WHERE run_at <= clock_timestamp()) AS due
        FROM blacklight.runs WHERE status IN ('queued','running','sleeping','waiting') GROUP BY status
        """

    public var depth: [String: Int64] = [:]
    public var due: [String: Int64] = [:]

    public init() {}

    public static func read(_ conn: PGConnection) throws -> QueueDepth {
        var q = QueueDepth()
        for row in try conn.query(query).rows {
            let status = row["status"].stringValue ?? ""
            q.depth[status] = row["n"].intValue ?? 0
            q.due[status] = row["due"].intValue ?? 0
        }
        return q
    }
}
