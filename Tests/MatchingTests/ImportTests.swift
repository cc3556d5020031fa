import BlacklightCore
import Foundation
import Matching
import PGStore
import Testing
import TestSupport

@Suite("Importing JSON rows")
struct ImportTests {
    @Test("rows go in with every value bound; an unknown field or a missing required one is refused by name")
    func importRows() throws {
        let h = try MatchingFixture.harness()
        let ids = try JSONImport.insert(kind: "jobs", rows: [
            ["title": "Data Engineer", "skills": ["SQL", "Spark"], "salary_max": 90000, "is_remote": true],
        ], conn: h.conn)
        #expect(ids.count == 1)
        #expect(try h.scalar("SELECT skills FROM job_postings WHERE id = $1", [.int(ids[0])]).arrayValue?.compactMap(\.stringValue) == ["SQL", "Spark"])
        do {
            _ = try JSONImport.insert(kind: "jobs", rows: [["title": "x", "titel": "typo"]], conn: h.conn)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasPrefix("row 1: unknown field 'titel' for job_postings"))
        }
        do {
            _ = try JSONImport.insert(kind: "candidates", rows: [["first_name": "Ada"]], conn: h.conn)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "row 1: candidates need a 'tenant_id'")
        }
    }
}
