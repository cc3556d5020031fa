/// The one error type of PGStore: an opaque code plus the context a person needs to see what went wrong and where
/// (shaped like postgres-nio's `PSQLError`).
public struct PGError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. Compare with the static members; new kinds may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case connectionFailed, connectionClosed, server, protocolViolation, clusterSetup, migration, invalidArgument, resultTooLarge
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Could not open a connection (the message names the host, port or socket tried).
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection was closed (by `close()`, the server, or the network) before or during the call.
        public static let connectionClosed = Code(.connectionClosed)
        /// The server rejected a statement; `sqlState` says why.
        public static let server = Code(.server)
        /// libpq or the server answered in a way this module does not handle (e.g. COPY, an unparsable value).
        public static let protocolViolation = Code(.protocolViolation)
        /// Creating, starting or stopping an `EmbeddedCluster` failed.
        public static let clusterSetup = Code(.clusterSetup)
        /// Loading or applying migrations failed, or the database is ahead of this build.
        public static let migration = Code(.migration)
        /// A caller passed something unusable (e.g. an invalid database name).
        public static let invalidArgument = Code(.invalidArgument)
        /// A result was larger than the caller's `maxResultBytes`; nothing of it was decoded.
        public static let resultTooLarge = Code(.resultTooLarge)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// The server's primary message (e.g. `relation "nope" does not exist`), or this module's own message.
    public let message: String
    /// The SQLSTATE, e.g. "42P01" (undefined table), "23505" (unique violation), "40001" (serialization failure).
    public let sqlState: String?
    public let detail: String?
    public let hint: String?
    /// 1-based character position in `statement` that the server points at.
    public let position: Int?
    /// The SQL text (first 200 characters) for context.
    public let statement: String?
    /// For `pipeline(_:)`: the 0-based index of the statement that failed.
    public let statementIndex: Int?
    /// "ERROR", "FATAL", ... for server errors.
    public let severity: String?

    public init(
        code: Code, message: String, sqlState: String? = nil, detail: String? = nil, hint: String? = nil,
        position: Int? = nil, statement: String? = nil, statementIndex: Int? = nil, severity: String? = nil
    ) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.position = position
        self.statement = statement.map(PGError.clip)
        self.statementIndex = statementIndex
        self.severity = severity
    }

    /// `ERROR 42P01: relation "nope" does not exist (in: SELECT * FROM nope)`, with detail, hint and pipeline
    /// index when present; for non-server errors `<code>: <message>`.
    public var description: String {
        var s: String
        if let sqlState {
            s = "\(severity ?? "ERROR") \(sqlState): \(message)"
        } else {
            s = "\(code): \(message)"
        }
        if let detail { s += " — \(detail)" }
        if let hint { s += " (hint: \(hint))" }
        if let statementIndex { s += " (pipeline statement \(statementIndex))" }
        if let statement { s += " (in: \(statement))" }
        return s
    }

    /// Whether the failure says the database cannot be reached right now rather than that the statement was wrong:
    /// no connection could be opened, the connection was lost, or the server is shutting down, starting up or
    /// terminated the session (SQLSTATE class 08, 57P01–57P03). Retrying later, on a new connection, may succeed.
    public var isUnavailable: Bool {
        if code == .connectionClosed || code == .connectionFailed { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }

    /// Whether the server reported this SQLSTATE, e.g. `error.hasSQLState("23505")`.
    public func hasSQLState(_ state: String) -> Bool { sqlState == state }

    func withStatementIndex(_ index: Int) -> PGError {
        withContext(statement: statement, index: index)
    }

    func withContext(statement: String?, index: Int?) -> PGError {
        PGError(
            code: code, message: message, sqlState: sqlState, detail: detail, hint: hint, position: position,
            statement: statement, statementIndex: index, severity: severity)
    }

    static func clip(_ sql: String) -> String {
        // 200 characters are enough to recognise the statement without flooding logs with a whole migration.
        sql.count <= 200 ? sql : String(sql.prefix(200)) + "…"
    }
}
