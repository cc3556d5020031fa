import Foundation
import PGStore
import TestSupport
import Testing

@Suite("Errors carry what went wrong and where")
struct ErrorTests {
    let conn: PGConnection

    init() throws { conn = try freshConnection() }

    @Test func sqlErrorCarriesStateMessageAndStatement() throws {
        let error = #expect(throws: PGError.self) { try conn.query("SELECT * FROM nope") }
        #expect(error?.code == .server)
        #expect(error?.sqlState == "42P01")
        #expect(error?.message == #"relation "nope" does not exist"#)
        #expect(error?.statement == "SELECT * FROM nope")
        #expect(error?.position == 15)
        #expect(error?.severity == "ERROR")
        #expect(error?.description == #"ERROR 42P01: relation "nope" does not exist (in: SELECT * FROM nope)"#)
        // The connection stays usable after a statement error.
        #expect(try conn.query("SELECT 1").scalar == .int(1))
    }

    @Test func constraintViolationsCarryDetail() throws {
        try conn.execScript("CREATE TABLE u (id int PRIMARY KEY)")
        try conn.exec("INSERT INTO u VALUES ($1)", [.int(1)])
        let error = #expect(throws: PGError.self) { try conn.exec("INSERT INTO u VALUES ($1)", [.int(1)]) }
        #expect(error?.sqlState == "23505")
        #expect(error?.hasSQLState("23505") == true)
        #expect(error?.detail == "Key (id)=(1) already exists.")
        #expect(error?.description.contains("Key (id)=(1) already exists.") == true)
    }

    @Test func valuesAreBoundNeverSpliced() throws {
        try conn.execScript("CREATE TABLE s (t text)")
        let hostile = "x'); DROP TABLE s; --"
        try conn.exec("INSERT INTO s VALUES ($1)", [.text(hostile)])
        #expect(try conn.query("SELECT t FROM s").scalar == .text(hostile))
    }

    @Test func nulBytesInTextAreRefusedBeforeSending() throws {
        let error = #expect(throws: PGError.self) { try conn.query("SELECT $1::text, $2::text", ["ok", "a\u{0}b"]) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "parameter $2 contains a NUL byte, which PostgreSQL text and json cannot store")
        #expect(error?.statement == "SELECT $1::text, $2::text")
        let inPipeline = #expect(throws: PGError.self) {
            try conn.pipeline([(sql: "SELECT 1", params: []), (sql: "SELECT $1::text", params: ["\u{0}"])])
        }
        #expect(inPipeline?.statementIndex == 1)
    }

    @Test func wrongParameterCountIsAServerError() throws {
        let error = #expect(throws: PGError.self) { try conn.query("SELECT $1::int + $2::int", [.int(1)]) }
        #expect(error?.code == .server)
        #expect(error?.sqlState == "08P01")
    }

    @Test func connectionFailureNamesHostAndPort() throws {
        let port = try #require(Self.closedPort())
        let error = #expect(throws: PGError.self) {
            try PGConnection(url: "postgresql://blacklight:secret@127.0.0.1:\(port)/postgres")
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("127.0.0.1") == true)
        #expect(error?.message.contains("\(port)") == true)
        #expect(error?.message.contains("secret") == false)
    }

    @Test func socketConnectionFailureNamesTheSocket() throws {
        let error = #expect(throws: PGError.self) {
            try PGConnection(url: "postgresql://blacklight@/postgres?host=/nonexistent-dir&port=1")
        }
        #expect(error?.message.contains("/nonexistent-dir/.s.PGSQL.1") == true)
    }

    @Test func closedConnectionRefusesWork() throws {
        conn.close()
        #expect(!conn.isOpen)
        #expect(conn.serverPID == 0)
        let error = #expect(throws: PGError.self) { try conn.query("SELECT 1") }
        #expect(error?.code == .connectionClosed)
        conn.close()  // twice is fine
    }

    @Test func terminatedBackendIsReportedAsClosed() throws {
        let other = try PGConnection(url: conn.url)
        // .int binds as int8; pg_terminate_backend takes int4, so cast.
        try other.exec("SELECT pg_terminate_backend($1::int)", [.int(Int64(conn.serverPID))])
        let error = #expect(throws: PGError.self) { try conn.query("SELECT 1") }
        #expect(error?.code == .connectionClosed)
        #expect(!conn.isOpen)
    }

    @Test func copyIsRefusedAndTheConnectionSurvives() throws {
        try conn.execScript("CREATE TABLE c (x int)")
        let inError = #expect(throws: PGError.self) { try conn.exec("COPY c FROM STDIN") }
        #expect(inError?.code == .protocolViolation)
        let outError = #expect(throws: PGError.self) { try conn.query("COPY (SELECT 1) TO STDOUT") }
        #expect(outError?.code == .protocolViolation)
        #expect(try conn.query("SELECT count(*) FROM c").scalar == .int(0))
    }

    @Test func quoteIdentifierQuotesHostileNames() throws {
        #expect(try conn.quoteIdentifier(#"we"ird"#) == #""we""ird""#)
    }

    /// A port nothing listens on: bound and released again.
    static func closedPort() -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        return ok ? Int(UInt16(bigEndian: addr.sin_port)) : nil
    }
}

@Suite("Transactions")
struct TransactionTests {
    let conn: PGConnection

    init() throws {
        conn = try freshConnection()
        try conn.execScript("CREATE TABLE t (x int UNIQUE)")
    }

    func count() throws -> Int64 { try conn.query("SELECT count(*) FROM t").scalar.intValue ?? -1 }

    struct Boom: Error {}

    @Test func commitsWhenTheBodyReturns() throws {
        let value = try conn.transaction {
            try conn.exec("INSERT INTO t VALUES (1)")
            return 7
        }
        #expect(value == 7)
        #expect(try count() == 1)
    }

    @Test func rollsBackWhenTheBodyThrows() throws {
        #expect(throws: Boom.self) {
            try conn.transaction {
                try conn.exec("INSERT INTO t VALUES (1)")
                throw Boom()
            }
        }
        #expect(try count() == 0)
    }

    @Test func commitAfterASwallowedErrorThrows() throws {
        let error = #expect(throws: PGError.self) {
            try conn.transaction {
                try conn.exec("INSERT INTO t VALUES (1)")
                _ = try? conn.exec("INSERT INTO t VALUES (1)")  // fails, error ignored
            }
        }
        #expect(error?.sqlState == "25P02")
        #expect(try count() == 0)
    }

    @Test func nestedTransactionsUseSavepoints() throws {
        try conn.transaction {
            try conn.exec("INSERT INTO t VALUES (1)")
            #expect(throws: PGError.self) {
                try conn.transaction {
                    try conn.exec("INSERT INTO t VALUES (2)")
                    try conn.exec("INSERT INTO t VALUES (1)")  // unique violation: undo the nested part only
                }
            }
            try conn.transaction { try conn.exec("INSERT INTO t VALUES (3)") }
        }
        #expect(try conn.query("SELECT x FROM t ORDER BY x").rows.map { $0[0] } == [.int(1), .int(3)])
    }
}
