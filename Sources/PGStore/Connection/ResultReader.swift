import CLibPQ
import Foundation

/// Copies a libpq result into a `PGResult`, decoding each cell once straight from libpq's buffer.
enum ResultReader {
    static func read(_ res: OpaquePointer) -> PGResult {
        let nFields = Int(PQnfields(res))
        let nRows = Int(PQntuples(res))
        var columns: [String] = []
        var decoders: [ValueDecoder] = []
        columns.reserveCapacity(nFields)
        decoders.reserveCapacity(nFields)
        for f in 0..<Int32(nFields) {
            columns.append(String(cString: PQfname(res, f)))
            decoders.append(ValueDecoder(oid: UInt32(PQftype(res, f))))
        }
        var rows: [PGRow] = []
        rows.reserveCapacity(nRows)
        for r in 0..<Int32(nRows) {
            var values: [PGValue] = []
            values.reserveCapacity(nFields)
            for f in 0..<Int32(nFields) {
                if PQgetisnull(res, r, f) != 0 {
                    values.append(.null)
                    continue
                }
                let length = Int(PQgetlength(res, r, f))
                let raw = UnsafeRawPointer(PQgetvalue(res, r, f)!)
                let bytes = UnsafeBufferPointer(start: raw.assumingMemoryBound(to: UInt8.self), count: length)
                values.append(decoders[Int(f)].decode(bytes))
            }
            rows.append(PGRow(columns: columns, values: values))
        }
        return PGResult(
            columns: columns, rows: rows, affectedRows: affectedRows(res), command: String(cString: PQcmdStatus(res)))
    }

    /// The size of every value in the result, as the server sent it.
    static func textBytes(_ res: OpaquePointer) -> Int {
        var total = 0
        let nFields = PQnfields(res)
        for r in 0..<PQntuples(res) {
            for f in 0..<nFields { total &+= Int(PQgetlength(res, r, f)) }
        }
        return total
    }

    /// PQcmdTuples: "" for commands without a count.
    static func affectedRows(_ res: OpaquePointer) -> Int {
        let p = PQcmdTuples(res)!
        let raw = UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self)
        return NumberText.parseInt(UnsafeBufferPointer(start: raw, count: strlen(p))).map { Int($0) } ?? 0
    }
}
