import Foundation
import Server
import Testing
import TestSupport

@Suite("RunningServer")
struct RunningServerTests {
    @Test("a server that cannot bind its port ends with the bind error instead of leaving its caller waiting")
    func aTakenPortIsAnError() async throws {
        let first = try await ServerHarness.start()
        defer { Task { await first.stop() } }
        await #expect { _ = try await ServerHarness.start { $0.port = first.port } } throws: { error in
            "\(error)".contains("Address already in use")
        }
    }

    @Test("stop ends a server gracefully after it answered, and it no longer answers")
    func stopWithAnOpenConnection() async throws {
        let h = try await ServerHarness.start()
        #expect(try await h.get("/health").status == 200)
        await h.stop()
        await #expect(throws: (any Error).self) { _ = try await h.get("/health") }
    }
}
