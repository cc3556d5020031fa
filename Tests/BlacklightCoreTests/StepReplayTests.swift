import BlacklightCore
import Foundation
import Testing

@Suite("Step replay state machine")
struct StepReplayTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("a completed memo replays; a missing or failed one executes")
    func runDecisions() {
        var replay = StepReplay(memos: [
            "a": StepMemo(status: .completed, output: 1),
            "b": StepMemo(status: .failed, attempts: 2),
        ])
        #expect(replay.run("a") == .replay(1))
        #expect(replay.run("b") == .execute(key: "b"))
        #expect(replay.run("c") == .execute(key: "c"))
        #expect(replay.reached == ["a", "b", "c"])
    }

    @Test("a completed memo of nil replays as null, not as 'execute'")
    func nilMemo() {
        var replay = StepReplay(memos: ["a": StepMemo(status: .completed, output: nil)])
        #expect(replay.run("a") == .replay(.null))
    }

    @Test("repeated ids get stable suffixes across executions")
    func suffixes() {
        var first = StepReplay(memos: [:])
        #expect(first.run("x") == .execute(key: "x"))
        #expect(first.run("x") == .execute(key: "x:1"))
        var second = StepReplay(memos: ["x": StepMemo(status: .completed, output: "a"), "x:1": StepMemo(status: .completed, output: "b")])
        #expect(second.run("x") == .replay("a"))
        #expect(second.run("x") == .replay("b"))
        #expect(second.run("x") == .execute(key: "x:2"))
    }

    @Test("a new sleep parks; a due sleep wakes; an early re-execution parks again without re-recording")
    func sleepDecisions() {
        var replay = StepReplay(memos: [:])
        #expect(replay.sleep("s", until: t0 + 60, now: t0) == .park(key: "s", until: t0 + 60, isNew: true))
        var early = StepReplay(memos: ["s": StepMemo(status: .sleeping, wakeAt: t0 + 60)])
        #expect(early.sleep("s", until: t0 + 999, now: t0 + 10) == .park(key: "s", until: t0 + 60, isNew: false))
        var due = StepReplay(memos: ["s": StepMemo(status: .sleeping, wakeAt: t0 + 60)])
        #expect(due.sleep("s", until: t0 + 999, now: t0 + 60) == .wake(key: "s"))
        var done = StepReplay(memos: ["s": StepMemo(status: .completed, output: nil)])
        #expect(done.sleep("s", until: t0, now: t0) == .replay(.null))
        var zero = StepReplay(memos: [:])
        #expect(zero.sleep("s", until: t0, now: t0) == .wake(key: "s"))
    }

    @Test("waits start, resume with their expiry, and replay the received event")
    func waitDecisions() {
        var replay = StepReplay(memos: [:])
        #expect(replay.wait("w") == .startWait(key: "w"))
        var pending = StepReplay(memos: ["w": StepMemo(status: .waiting, wakeAt: t0)])
        #expect(pending.wait("w") == .resumeWait(key: "w", expiresAt: t0))
        var got = StepReplay(memos: ["w": StepMemo(status: .completed, output: ["name": "x"])])
        #expect(got.wait("w") == .replay(["name": "x"]))
    }

    @Test("recording a step makes it visible to a later step in the same execution")
    func recordIsVisible() {
        var replay = StepReplay(memos: [:])
        #expect(replay.run("a") == .execute(key: "a"))
        replay.record("a", StepMemo(status: .completed, output: 5))
        #expect(replay.memos["a"]?.output == 5)
    }

    @Test("SHA-256 matches known digests")
    func sha256() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(String(repeating: "a", count: 1000)).count == 64)
    }
}
