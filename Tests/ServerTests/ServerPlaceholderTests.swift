import Testing
@testable import Server

@Suite("Server module")
struct ServerPlaceholderTests {
    @Test("the server module links")
    func links() { #expect(String(describing: ServerModule.self) == "ServerModule") }
}
