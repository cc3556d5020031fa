import Foundation
import PGStore
import TestSupport
import Testing

@Suite("Connection setup")
struct ConnectionTests {
    @Test func sessionIsSetUpForTheDecoder() throws {
        let conn = try freshConnection()
        let settings = try conn.query(
            "SELECT current_setting('TimeZone'), current_setting('DateStyle'), current_setting('bytea_output'), "
                + "current_setting('application_name'), current_setting('client_encoding')")
        #expect(settings.rows[0].values == [.text("UTC"), .text("ISO, YMD"), .text("hex"), .text("blacklight"), .text("UTF8")])
        #expect(conn.isOpen)
        #expect(conn.serverPID > 0)
    }

    @Test func urlParametersOverrideTheDefaults() throws {
        let url = try TestDatabase.fresh() + "?application_name=worker-7&connect_timeout=3"
        let conn = try PGConnection(url: url)
        #expect(try conn.query("SELECT current_setting('application_name')").scalar == .text("worker-7"))
        #expect(conn.url == url)
    }

    @Test func connectionFailureMessagesAreOneLine() throws {
        let error = #expect(throws: PGError.self) { try PGConnection(url: "postgresql://blacklight@/postgres?host=/nonexistent-dir&port=1") }
        #expect(error?.message.contains("\n") == false)
        #expect(error?.message.contains("\t") == false)
    }
}
