import Foundation
@testable import Server
import Testing

/// Crashes the fuzzers found, by name (their inputs are also in Corpus/, as `crash-*`).
@Suite struct FuzzRegressionTests {
    /// `GET /api/runs?since=…` (and the dashboard's filter) trapped inside Foundation's DateFormatter
    /// on this text, stopping the server; it is now a 400.
    @Test func apiTimeRefusesNonASCIIInsteadOfTrapping() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Corpus/dates/crash-dateformatter-cfrange-non-ascii")
        let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        #expect(throws: APIError.self) { try APIRoutes.time(text, "since") }
        #expect(try APIRoutes.time("2026-01-31T12:00", "since") == Date(timeIntervalSince1970: 1_769_860_800))
    }
}
