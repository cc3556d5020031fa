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

    @Test("the server's end of a TCP session gets the client's keepalives and tcp_user_timeout, also after RESET ALL; the URL's options still apply")
    func serverSideKeepalivesMirrorTheClient() throws {
        func server(_ conn: PGConnection) throws -> [PGValue] {
            try conn.query("SELECT current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'), "
                + "current_setting('tcp_keepalives_count'), current_setting('tcp_user_timeout'), current_setting('search_path')")
                .rows[0].values
        }
        let url = try TestDatabase.fresh()
        let defaults = try PGConnection(url: url)
        let byDefault = try server(defaults)
        #expect(byDefault == [.text("10"), .text("5"), .text("3"), .text("25000"), .text("\"$user\", public")])
        let custom = try PGConnection(url: url + "?keepalives_idle=2&keepalives_interval=1&keepalives_count=4&tcp_user_timeout=7000"
            + "&options=-csearch_path%3Dpg_catalog")
        let expected: [PGValue] = [.text("2"), .text("1"), .text("4"), .text("7000"), .text("pg_catalog")]
        let given = try server(custom)
        #expect(given == expected)
        try custom.execScript("SET tcp_keepalives_idle = 100")
        try custom.resetSession()
        let afterReset = try server(custom)
        #expect(afterReset == expected)
    }

    @Test func connectionFailureMessagesAreOneLine() throws {
        let error = #expect(throws: PGError.self) { try PGConnection(url: "postgresql://blacklight@/postgres?host=/nonexistent-dir&port=1") }
        #expect(error?.message.contains("\n") == false)
        #expect(error?.message.contains("\t") == false)
    }
}
