import BlacklightCore
import Testing

@Suite("Idle backoff")
struct IdleBackoffTests {
    @Test("waits until the next due run, capped at the poll interval")
    func waitsForTheNextDueRun() {
        var b = IdleBackoff(minimum: 0.005, maximum: 1)
        #expect(b.waitAfterEmptyClaim(dueIn: nil) == 1)
        #expect(b.waitAfterEmptyClaim(dueIn: 0.3) == 0.3)
        #expect(b.waitAfterEmptyClaim(dueIn: 7200) == 1)
    }

    @Test("a run that looks due but cannot be claimed doubles the wait up to the poll interval, instead of a 5 ms spin")
    func backsOffWhenDueButNothingClaimed() {
        var b = IdleBackoff(minimum: 0.005, maximum: 0.1)
        let waits = (0..<7).map { _ in b.waitAfterEmptyClaim(dueIn: -0.5) }
        #expect(waits == [0.005, 0.01, 0.02, 0.04, 0.08, 0.1, 0.1])
    }

    @Test("claimed work, or a due time beyond the current wait, starts over at the minimum")
    func resets() {
        var b = IdleBackoff(minimum: 0.005, maximum: 1)
        _ = (0..<4).map { _ in b.waitAfterEmptyClaim(dueIn: 0) }
        #expect(b.floor == 0.08)
        b.claimed()
        #expect(b.waitAfterEmptyClaim(dueIn: 0) == 0.005)
        _ = b.waitAfterEmptyClaim(dueIn: 0)
        #expect(b.waitAfterEmptyClaim(dueIn: 0.5) == 0.5)
        #expect(b.floor == 0.005)
    }
}
