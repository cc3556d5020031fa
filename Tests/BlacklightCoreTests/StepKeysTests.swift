import Testing
import BlacklightCore

@Suite("StepKeys")
struct StepKeysTests {
    @Test("a repeated id gets a counter suffix")
    func repeatedIds() {
        var keys = StepKeys()
        #expect(keys.key(for: "fetch") == "fetch")
        #expect(keys.key(for: "fetch") == "fetch:1")
        #expect(keys.key(for: "fetch") == "fetch:2")
    }

    @Test("ids are counted independently")
    func independentIds() {
        var keys = StepKeys()
        #expect(["a", "b", "a", "c", "b", "a"].map { keys.key(for: $0) } == ["a", "b", "a:1", "c", "b:1", "a:2"])
    }

    @Test("a fresh value for a re-execution derives the same keys")
    func replayIsStable() {
        let ids = ["load", "score", "score", "save", "score"]
        var first = StepKeys()
        var second = StepKeys()
        #expect(ids.map { first.key(for: $0) } == ids.map { second.key(for: $0) })
    }

    @Test("an id that looks generated never collides with a generated key")
    func noCollisionWithLiteralSuffix() {
        var keys = StepKeys()
        let issued = ["fetch", "fetch:1", "fetch", "fetch:1"].map { keys.key(for: $0) }
        #expect(issued == ["fetch", "fetch:1", "fetch:2", "fetch:1:1"])
        #expect(Set(issued).count == issued.count)
    }
}
