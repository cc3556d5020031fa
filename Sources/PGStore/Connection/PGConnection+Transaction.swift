import CLibPQ

extension PGConnection {
    /// Runs `body` in a transaction: BEGIN, then COMMIT if it returns, ROLLBACK if it throws (and rethrows).
    ///
    /// Called inside another `transaction`, it uses a savepoint instead, so a nested failure undoes only the
    /// nested part. A COMMIT that the server turns into a rollback (because a statement failed and `body`
    /// swallowed the error) throws SQLSTATE 25P02 rather than pretending to have committed.
    @discardableResult
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        let c = try handle()
        let nested = PQtransactionStatus(c) != PQTRANS_IDLE
        let savepoint = "blacklight_sp_\(savepointDepth + 1)"
        try execScript(nested ? "SAVEPOINT \(savepoint)" : "BEGIN")
        if nested { savepointDepth += 1 }
        defer { if nested { savepointDepth -= 1 } }

        let result: T
        do {
            result = try body()
        } catch {
            // The original error is what matters; a failing ROLLBACK (connection gone) adds nothing.
            try? execScript(nested ? "ROLLBACK TO SAVEPOINT \(savepoint); RELEASE SAVEPOINT \(savepoint)" : "ROLLBACK")
            throw error
        }

        if nested {
            try execScript("RELEASE SAVEPOINT \(savepoint)")
        } else {
            let tag = try query("COMMIT").command
            if tag == "ROLLBACK" {
                throw PGError(
                    code: .server,
                    message: "the transaction was rolled back at COMMIT because a statement inside it had failed",
                    sqlState: "25P02", statement: "COMMIT")
            }
        }
        return result
    }
}
