import Testing
import TestSupport
@testable import Engine

@Suite("Re-run output differences")
struct OutputDiffTests {
    @Test("one-line outputs show stored and new side by side; equal outputs say so")
    func oneLine() {
        #expect(OutputDiff.describe(stored: "4", now: "5") == "output changed:\n- stored: 4\n+ now:    5")
        #expect(OutputDiff.describe(stored: "4", now: "4") == "same output as stored: 4")
        #expect(OutputDiff.describe(stored: nil, now: "4") == "no stored output before; now:\n+ 4")
    }

    @Test("multi-line outputs diff line by line, removals before additions")
    func multiLine() {
        let stored = "{\n  a = 1,\n  b = 2,\n  c = 3,\n}"
        let now = "{\n  a = 1,\n  b = 20,\n  c = 3,\n  d = 4,\n}"
        #expect(OutputDiff.describe(stored: stored, now: now) == """
            output changed (- stored, + now):
              {
                a = 1,
            -   b = 2,
            +   b = 20,
                c = 3,
            +   d = 4,
              }
            """)
    }
}
