import Testing
import BlacklightCore

@Suite("RunStatus")
struct RunStatusTests {
    @Test("completed, failed and cancelled are terminal; the others are not")
    func terminal() {
        #expect(RunStatus.allCases.filter(\.isTerminal) == [.completed, .failed, .cancelled])
        #expect(RunStatus.allCases.filter { !$0.isTerminal } == [.queued, .running, .sleeping, .waiting])
    }

    @Test("raw values are the stored names")
    func rawValues() {
        #expect(RunStatus.allCases.map(\.rawValue)
            == ["queued", "running", "sleeping", "waiting", "completed", "failed", "cancelled"])
        #expect(RunStatus(rawValue: "sleeping") == .sleeping)
        #expect(RunStatus(rawValue: "done") == nil)
    }
}
