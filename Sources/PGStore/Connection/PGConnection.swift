import CLibPQ
import Foundation

/// One libpq connection. Not `Sendable`: use it from one thread at a time (a pool hands it out whole).
///
/// Every call is synchronous and blocks its thread for the round trip: a local round trip takes ≈15–20 µs here
/// (≈55k `SELECT 1`/s), less than hopping between executors per statement would add.
public final class PGConnection {
    /// The URL this connection was opened with (may contain a password; do not log it).
    public let url: String
    var conn: OpaquePointer?
    /// Depth of nested `transaction` calls, used to name savepoints.
    var savepointDepth = 0

    /// Connects with a libpq URI or conninfo string, e.g. `postgresql://user@127.0.0.1:5433/db` or
    /// `postgresql://user@/db?host=/socket/dir`, then sets the session to UTC, ISO dates, shortest-exact floats
    /// and hex bytea, which the decoder relies on.
    ///
    /// Unless the URL says otherwise, connecting gives up after `connectTimeout` seconds (default 10; libpq's
    /// default is to wait for the operating system, minutes for an unreachable host) and the session is named
    /// "blacklight" in pg_stat_activity.
    public init(url: String, connectTimeout: Int = 10) throws(PGError) {
        self.url = url
        guard let c = Self.connect(url, connectTimeout: max(1, connectTimeout)) else {
            throw PGError(code: .connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(c) == CONNECTION_OK else {
            let reason = Self.trimmed(PQerrorMessage(c))
            PQfinish(c)
            throw PGError(code: .connectionFailed, message: "could not connect to \(Self.redacted(url)): \(reason)")
        }
        // libpq prints NOTICEs ("relation already exists, skipping", ...) to stderr by default; a library must
        // not write to its host's stderr.
        PQsetNoticeProcessor(c, { _, _ in }, nil)
        conn = c
        do {
            try execScript(Self.sessionSetup)
            // PostgreSQL 14+: a backend busy in a long statement or a lock wait notices within 2 s that its client
            // died (a SIGKILLed worker), ends, and releases its row locks, instead of holding the runs until the
            // statement finishes.
            if PQserverVersion(c) >= 140_000 { try execScript("SET client_connection_check_interval = 2000") }
        } catch {
            close()
            throw PGError(
                code: .connectionFailed, message: "connected to \(Self.redacted(url)) but could not set up the "
                    + "session: \(error.message)", sqlState: error.sqlState)
        }
    }

    deinit { close() }

    /// One round trip for all of them (simple protocol, several statements).
    static let sessionSetup = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; "
        + "SET extra_float_digits = 1; SET bytea_output = 'hex'; SET client_encoding = 'UTF8'"

    /// Undoes whatever session settings statements on this connection changed (`set_config(..., false)`, `SET LOCAL`
    /// inside the open transaction) and restores the ones the decoder relies on, in one round trip.
    /// `then` is more fixed SQL for the same round trip (never built from values).
    public func resetSession(then more: String? = nil) throws(PGError) {
        let check = conn.map { PQserverVersion($0) >= 140_000 } == true ? "; SET client_connection_check_interval = 2000" : ""
        try execScript("RESET ALL; " + Self.sessionSetup + check + (more.map { "; " + $0 } ?? ""))
    }

    /// True inside a transaction that a failed statement aborted: every statement but ROLLBACK (to a savepoint)
    /// fails until then.
    public var isInFailedTransaction: Bool {
        guard let conn else { return false }
        return PQtransactionStatus(conn) == PQTRANS_INERROR
    }

    /// True inside a transaction block (idle in it, or aborted).
    public var isInTransaction: Bool {
        guard let conn else { return false }
        let status = PQtransactionStatus(conn)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// PQconnectdbParams with the URL expanded in place of `dbname`: values from the URL override the defaults
    /// listed before it.
    ///
    /// TCP keepalives and `tcp_user_timeout` bound how long a call can hang on a peer that vanished (a restarted
    /// server, a cut network): without them a blocked read waits for the kernel's default, about two hours.
    /// Idle 10 s, then 3 probes 5 s apart: a dead link is noticed in about 25 s, within a 30 s run lease.
    /// The server's end of the session gets the same settings (`serverOptions`).
    private static func connect(_ url: String, connectTimeout: Int) -> OpaquePointer? {
        var keys = ["connect_timeout", "application_name", "keepalives", "keepalives_idle", "keepalives_interval",
                    "keepalives_count", "tcp_user_timeout", "dbname"]
        var values = [String(connectTimeout), "blacklight", "1", "10", "5", "3", "25000", url]
        // After dbname, so that it replaces the URL's own `options`, which it includes.
        if let options = serverOptions(url, defaults: Dictionary(uniqueKeysWithValues: zip(keys, values))) {
            keys.append("options")
            values.append(options)
        }
        let cKeys = keys.map { strdup($0) } + [nil]
        let cValues = values.map { strdup($0) } + [nil]
        defer {
            cKeys.forEach { free($0) }
            cValues.forEach { free($0) }
        }
        return cKeys.map { UnsafePointer($0) }.withUnsafeBufferPointer { k in
            cValues.map { UnsafePointer($0) }.withUnsafeBufferPointer { v in
                PQconnectdbParams(k.baseAddress, v.baseAddress, 1)
            }
        }
    }

    /// The client's keepalives and `tcp_user_timeout` (the defaults of `connect`, or the URL's), as server settings
    /// in the startup packet's `options`, followed by the URL's own `options` (or `PGOPTIONS`), which win on a clash.
    ///
    /// Why: a client cut off by the network (a partition, a dead host: nothing arrives, no RST, no FIN) is otherwise
    /// noticed by the server only after the kernel's defaults, about two hours of keepalive or some 15 minutes of
    /// retransmissions, and `client_connection_check_interval` does not help, since the kernel does not know the
    /// connection is dead either. Meanwhile the backend sits in the worker's open batch transaction with the rows
    /// of its runs locked, so no other worker can claim them, whatever their lease says: in the partition test
    /// (PartitionTests) they were not released within 60 s. With the client's settings the server drops such a
    /// session about when the client gives up on it (≈25 s by default, within the 30 s lease; 3.5 s with the
    /// test's settings). Startup options rather than `SET`: they are the session's defaults, so `RESET ALL` (run
    /// between runs) keeps them at no cost. A Unix-socket session accepts and ignores them. Needs PostgreSQL 12+
    /// (`tcp_user_timeout`). Nil when the URL cannot be parsed (libpq reports that when connecting).
    static func serverOptions(_ url: String, defaults: [String: String]) -> String? {
        guard let parsed = PQconninfoParse(url, nil) else { return nil }
        defer { PQconninfoFree(parsed) }
        var given: [String: String] = [:]
        var i = 0
        while let keyword = parsed[i].keyword {
            if let value = parsed[i].val { given[String(cString: keyword)] = String(cString: value) }
            i += 1
        }
        // Integers only reach the options (a URL's values are checked, and left out when they are not numbers).
        func value(_ key: String) -> Int32? {
            (given[key] ?? defaults[key]).flatMap { Int32($0.trimmingCharacters(in: .whitespaces)) }.flatMap { $0 >= 0 ? $0 : nil }
        }
        var settings: [String] = []
        if value("keepalives") != 0 {
            for (key, name) in [("keepalives_idle", "tcp_keepalives_idle"), ("keepalives_interval", "tcp_keepalives_interval"),
                                ("keepalives_count", "tcp_keepalives_count")] {
                if let n = value(key) { settings.append("-c \(name)=\(n)") }
            }
        }
        if let n = value("tcp_user_timeout") { settings.append("-c tcp_user_timeout=\(n)") }
        if let own = given["options"] ?? ProcessInfo.processInfo.environment["PGOPTIONS"], !own.isEmpty { settings.append(own) }
        return settings.joined(separator: " ")
    }

    /// Whether the connection is open and healthy (false after `close()` or once the server has gone away).
    public var isOpen: Bool {
        guard let conn else { return false }
        return PQstatus(conn) == CONNECTION_OK
    }

    /// Closes the connection; calling it again does nothing.
    public func close() {
        if let c = conn {
            PQfinish(c)
            conn = nil
        }
    }

    /// The PID of the server process serving this connection (0 when closed), e.g. to match NOTIFY senders or
    /// to `pg_terminate_backend` it in a test.
    public var serverPID: Int32 {
        conn.map { PQbackendPID($0) } ?? 0
    }

    /// Runs one statement with bound parameters (`$1`, `$2`, ...) and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ params: [PGValue] = []) throws(PGError) -> PGResult {
        let res = try executeParams(sql, params)
        defer { PQclear(res) }
        return ResultReader.read(res)
    }

    /// Like `query`, but refuses a result whose values add up to more than `maxResultBytes` (as PostgreSQL's text)
    /// before decoding any of it, so a caller with a memory budget never holds two copies of an oversized result.
    public func query(_ sql: String, _ params: [PGValue], maxResultBytes: Int) throws(PGError) -> PGResult {
        let res = try executeParams(sql, params)
        defer { PQclear(res) }
        let bytes = ResultReader.textBytes(res)
        if bytes > maxResultBytes {
            throw PGError(code: .resultTooLarge, message: "the result holds \(bytes) bytes in \(PQntuples(res)) rows, over the "
                + "limit of \(maxResultBytes) bytes", statement: sql)
        }
        return ResultReader.read(res)
    }

    /// Runs one statement with bound parameters and returns the number of rows it affected, without decoding
    /// any rows it returns.
    @discardableResult
    public func exec(_ sql: String, _ params: [PGValue] = []) throws(PGError) -> Int {
        let res = try executeParams(sql, params)
        defer { PQclear(res) }
        return ResultReader.affectedRows(res)
    }

    /// Runs SQL text that may hold several statements (migrations, setup). It cannot take parameters; never
    /// build its text from values.
    public func execScript(_ sql: String) throws(PGError) {
        let c = try handle()
        let res = try check(PQexec(c, sql), sql: sql)
        PQclear(res)
    }

    /// Quotes an identifier (table, channel, schema name) for splicing into SQL text, with libpq's own rules.
    public func quoteIdentifier(_ name: String) throws(PGError) -> String {
        let c = try handle()
        guard let quoted = PQescapeIdentifier(c, name, name.utf8.count) else {
            throw PGError(code: .invalidArgument, message: "cannot quote identifier: \(Self.trimmed(PQerrorMessage(c)))")
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    // MARK: - Internals shared by the extensions

    func handle() throws(PGError) -> OpaquePointer {
        guard let conn else { throw PGError(code: .connectionClosed, message: "the connection is closed") }
        return conn
    }

    private func executeParams(_ sql: String, _ params: [PGValue]) throws(PGError) -> OpaquePointer {
        let c = try handle()
        let encoded: ParameterEncoder
        do throws(PGError) {
            encoded = try ParameterEncoder(params)
        } catch {
            throw error.withContext(statement: sql, index: nil)
        }
        // Result format 0 (text): the decoder reads PostgreSQL's text forms, which are stable across versions.
        let res = encoded.withCParameters { n, types, values, lengths, formats in
            PQexecParams(c, sql, n, types, values, lengths, formats, 0)
        }
        return try check(res, sql: sql)
    }

    /// Returns `res` if it is a success, else clears it and throws the error it (or the connection) carries.
    func check(_ res: OpaquePointer?, sql: String) throws(PGError) -> OpaquePointer {
        guard let c = conn, let res else {
            throw connectionError(sql: sql)
        }
        switch PQresultStatus(res) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return res
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            let status = PQresultStatus(res)
            PQclear(res)
            Self.abandonCopy(c, status: status)
            throw PGError(
                code: .protocolViolation, message: "COPY is not supported through query/exec/execScript",
                statement: sql)
        default:
            let error = resultError(res, sql: sql)
            PQclear(res)
            throw error
        }
    }

    /// The error a failed result carries, with SQLSTATE, position, detail and hint.
    func resultError(_ res: OpaquePointer, sql: String) -> PGError {
        func field(_ code: Character) -> String? {
            guard let p = PQresultErrorField(res, Int32(code.asciiValue!)) else { return nil }
            return String(cString: p)
        }
        let broken = conn.map { PQstatus($0) == CONNECTION_BAD } ?? true
        let message = field("M") ?? Self.trimmed(PQresultErrorMessage(res))
        return PGError(
            code: broken ? .connectionClosed : .server,
            message: message.isEmpty ? "unknown error" : message,
            sqlState: field("C"), detail: field("D"), hint: field("H"), position: field("P").flatMap { Int($0) },
            statement: sql, severity: field("V") ?? field("S"))
    }

    func connectionError(sql: String?) -> PGError {
        let message = conn.map { Self.trimmed(PQerrorMessage($0)) } ?? "the connection is closed"
        return PGError(
            code: .connectionClosed, message: message.isEmpty ? "the connection was lost" : message, statement: sql)
    }

    /// Leaves COPY state so the connection stays usable: refuse COPY FROM STDIN, discard COPY TO STDOUT.
    private static func abandonCopy(_ c: OpaquePointer, status: ExecStatusType) {
        if status == PGRES_COPY_IN || status == PGRES_COPY_BOTH {
            _ = PQputCopyEnd(c, "COPY is not supported here")
        } else {
            var buffer: UnsafeMutablePointer<CChar>?
            while PQgetCopyData(c, &buffer, 0) > 0 {
                PQfreemem(buffer)
                buffer = nil
            }
        }
        while let res = PQgetResult(c) { PQclear(res) }
    }

    /// libpq's message on one line: it ends with a newline and indents continuation lines with tabs
    /// ("...failed: Connection refused\n\tIs the server running...?" becomes "...refused. Is the server...?").
    static func trimmed(_ p: UnsafePointer<CChar>?) -> String {
        guard let p else { return "" }
        let lines = String(cString: p).split(whereSeparator: { $0 == "\n" || $0 == "\t" })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return lines.enumerated().map { i, line in
            i < lines.count - 1 && !".?!:".contains(line.last!) ? line + "." : line
        }.joined(separator: " ")
    }

    /// The URL with any password replaced, for error messages.
    static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else {
            return url
        }
        let userInfo = url[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}
