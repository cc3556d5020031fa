import Foundation
import PGStore
import Testing

@Suite("Pipeline mode")
struct PipelineTests {
    let conn: PGConnection

    init() throws {
        conn = try freshConnection()
        try conn.execScript("CREATE TABLE p (id int PRIMARY KEY, note text NOT NULL)")
    }

    @Test func thousandInsertsReturnOneResultEach() throws {
        let statements = (0..<1000).map { i in
            (sql: "INSERT INTO p (id, note) VALUES ($1, $2) RETURNING id", params: [PGValue.int(Int64(i)), .text("n\(i)")])
        }
        let results = try conn.pipeline(statements)
        #expect(results.count == 1000)
        #expect(results.allSatisfy { $0.affectedRows == 1 })
        #expect(results[999].scalar == .int(999))
        #expect(try conn.query("SELECT count(*) FROM p").scalar == .int(1000))
    }

    @Test func failureInTheMiddleReportsItsIndexAndRollsBackTheBatch() throws {
        let statements = (0..<1000).map { i in
            // Statement 500 inserts NULL into a NOT NULL column.
            (sql: "INSERT INTO p (id, note) VALUES ($1, $2)", params: [PGValue.int(Int64(i)), i == 500 ? .null : .text("ok")])
        }
        let error = #expect(throws: PGError.self) { try conn.pipeline(statements) }
        #expect(error?.statementIndex == 500)
        #expect(error?.sqlState == "23502")
        #expect(error?.statement == "INSERT INTO p (id, note) VALUES ($1, $2)")
        #expect(error?.description.contains("pipeline statement 500") == true)
        // One sync = one implicit transaction: nothing from the batch was kept; the connection is fine.
        #expect(try conn.query("SELECT count(*) FROM p").scalar == .int(0))
        #expect(try conn.pipeline([(sql: "SELECT $1::int", params: [.int(5)])]).first?.scalar == .int(5))
    }

    @Test func mixesQueriesAndCommands() throws {
        let results = try conn.pipeline([
            (sql: "INSERT INTO p VALUES ($1, $2)", params: [1, "a"]),
            (sql: "SELECT note FROM p WHERE id = $1", params: [1]),
            (sql: "UPDATE p SET note = $1", params: ["b"]),
        ])
        #expect(results.map(\.command) == ["INSERT 0 1", "SELECT 1", "UPDATE 1"])
        #expect(results[1].scalar == .text("a"))
        #expect(try conn.pipeline([]).isEmpty)
    }

    @Test func largeBatchesBothWaysDoNotDeadlock() throws {
        // ~20 MB sent and ~20 MB received: far beyond the socket buffers, so sending and reading must overlap.
        let big = String(repeating: "x", count: 10_000)
        let inserts = (0..<2000).map { i in (sql: "INSERT INTO p VALUES ($1, $2)", params: [PGValue.int(Int64(i)), .text(big)]) }
        #expect(try conn.pipeline(inserts).count == 2000)
        let selects = Array(repeating: (sql: "SELECT note FROM p WHERE id < $1", params: [PGValue.int(10)]), count: 200)
        let results = try conn.pipeline(selects)
        #expect(results.count == 200)
        #expect(results.allSatisfy { $0.rows.count == 10 && $0.rows[0][0] == .text(big) })
    }

    @Test func insideATransactionAFailureAbortsIt() throws {
        try conn.execScript("BEGIN")
        try conn.exec("INSERT INTO p VALUES (1, 'before')")
        let error = #expect(throws: PGError.self) {
            try conn.pipeline([(sql: "INSERT INTO p VALUES ($1, $2)", params: [2, "x"]), (sql: "SELECT 1/0", params: [])])
        }
        #expect(error?.statementIndex == 1)
        #expect(error?.sqlState == "22012")
        try conn.execScript("ROLLBACK")
        #expect(try conn.query("SELECT count(*) FROM p").scalar == .int(0))
    }
}
