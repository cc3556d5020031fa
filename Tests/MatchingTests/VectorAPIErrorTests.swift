import BlacklightCore
import Engine
import Foundation
import Matching
import PGStore
import Testing
import TestSupport

/// Bad input to `vec` used to trap inside VectorScoring (a precondition, an overflowing `4 * k`, an allocation sized by
/// the script), killing the engine process; the run was then claimed again after each restart, so the process
/// crash-looped. Each case now runs inside a real step and must fail that run with a message naming the function and
/// the bad value, at the script's line, while the worker (this test process) goes on to run the next step.
@Suite("vec refuses bad input with a Lua error", .serialized)
struct VectorAPIErrorTests {
    typealias F = MatchingFixture

    /// One case per line, so the line of each error is known: `line(of:)` finds it.
    static let script = """
        local cases = {
          dot = function() return vec.dot(vec.new({1}), vec.new({1, 2})) end,
          cosine = function() return vec.cosine(vec.new({1, 2, 3}), vec.new({1, 2})) end,
          dot_table = function() return vec.dot({1, 2}, {1, 2, 3}) end,
          top_k_max_k = function() return vec.top_k(embed.text("python"), { k = math.maxinteger }) end,
          top_k_zero_k = function() return vec.top_k(embed.text("python"), { k = 0 }) end,
          top_k_fraction_k = function() return vec.top_k(embed.text("python"), { k = 2.5 }) end,
          top_k_huge_float_k = function() return vec.top_k(embed.text("python"), { k = 1e300 }) end,
          top_k_dimension = function() return vec.top_k(vec.new({1, 2}), { k = 3 }) end,
          top_k_nan_threshold = function() return vec.top_k(embed.text("python"), { threshold = 0/0 }) end,
          top_k_precision = function() return vec.top_k(embed.text("python"), { precision = "fast" }) end,
          matrix_dimensions = function() return vec.matrix({ vec.new({1, 2}) }, { vec.new({1, 2}), vec.new({1, 2, 3}) }) end,
          matrix_cells = function() local a = {} for i = 1, 1001 do a[i] = vec.new({1}) end return vec.matrix(a, a) end,
          matrix_item = function() return vec.matrix({ {} }, {}) end,
          new_empty = function() return vec.new({}) end,
          new_huge = function() local t = {} for i = 1, 65537 do t[i] = 0.5 end return vec.new(t) end,
          new_nan = function() return vec.new({1, 0/0}) end,
          new_inf = function() return vec.new({-math.huge}) end,
          new_float_range = function() return vec.new({1e300}) end,
          new_string = function() return vec.new({1, "x"}) end,
          new_holes = function() return vec.new({1, nil, 3}) end,
          ok = function() return vec.dot(vec.new({1, 2}), vec.new({3, 4})) end,
        }
        return workflow {
          id = "vec-errors",
          triggers = { { event = "test/vec-error" } },
          retries = 0,
          run = function(ctx, step)
            return step.run("score", function() return cases[ctx.event.data.case]() end)
          end,
        }
        """

    static func line(of name: String) -> Int {
        let lines = script.split(separator: "\n", omittingEmptySubsequences: false)
        return 1 + lines.firstIndex { $0.hasPrefix("  \(name) = function") }!
    }

    static func harness() throws -> Harness {
        let h = try F.harness()
        try h.write(script: "vec_errors.lua", script)
        try h.load()
        return h
    }

    /// Runs `name` in a step and expects the run to fail at once with `message` at the case's line; then runs a good
    /// step on the same worker, which must complete: the process survived.
    static func expectFails(_ h: Harness, _ name: String, _ message: String,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        try h.send("test/vec-error", ["case": .string(name)])
        try h.drain()
        let run = try #require(try h.runs(function: "vec-errors").last, sourceLocation: sourceLocation)
        #expect(run["status"].stringValue == "failed", sourceLocation: sourceLocation)
        #expect(run["attempt"].intValue == 1, sourceLocation: sourceLocation)
        let error = try #require(h.error(run), sourceLocation: sourceLocation)
        #expect(error["message"]?.stringValue == "scripts/vec_errors.lua:\(line(of: name)): \(message)",
                sourceLocation: sourceLocation)
        #expect(error["step"]?.stringValue == "score", sourceLocation: sourceLocation)

        try h.send("test/vec-error", ["case": "ok"])
        try h.drain()
        let next = try #require(try h.runs(function: "vec-errors").last, sourceLocation: sourceLocation)
        #expect(next["status"].stringValue == "completed", sourceLocation: sourceLocation)
        #expect(h.output(next)?.doubleValue == 11, sourceLocation: sourceLocation)
    }

    @Test("vec.dot with different dimensions fails the step instead of trapping")
    func dotDimensions() throws {
        let h = try Self.harness()
        try Self.expectFails(h, "dot", "vec.dot: dimensions 1 and 2 differ")
        try Self.expectFails(h, "dot_table", "vec.dot: dimensions 2 and 3 differ")
    }

    @Test("vec.cosine with different dimensions fails the step instead of trapping")
    func cosineDimensions() throws {
        let h = try Self.harness()
        try Self.expectFails(h, "cosine", "vec.cosine: dimensions 3 and 2 differ")
    }

    @Test("vec.top_k with k = math.maxinteger fails the step instead of overflowing 4 * k or allocating k heap slots")
    func topKHugeK() throws {
        let h = try Self.harness()
        try Self.expectFails(h, "top_k_max_k", "vec.top_k: k must be between 1 and 100000, got 9223372036854775807")
        try Self.expectFails(h, "top_k_huge_float_k", "vec.top_k: k must be between 1 and 100000, got 1e+300")
    }

    @Test("vec.top_k with k of 0 or a fraction fails the step instead of silently using another k")
    func topKBadK() throws {
        let h = try Self.harness()
        try Self.expectFails(h, "top_k_zero_k", "vec.top_k: k must be between 1 and 100000, got 0")
        try Self.expectFails(h, "top_k_fraction_k", "vec.top_k: k must be between 1 and 100000, got 2.5")
    }

    @Test("vec.top_k with a query of another dimension than the job index fails the step instead of trapping")
    func topKQueryDimension() throws {
        let h = try Self.harness()
        try F.job(h, role: nil)
        try h.send("system/backfill-embeddings", ["entity_type": "jobs"])
        try h.drain()
        try Self.expectFails(h, "top_k_dimension", "vec.top_k: the query has dimension 2, the job embeddings have 384")
    }

    @Test("vec.top_k with a NaN threshold or an unknown precision fails the step instead of being ignored")
    func topKBadOptions() throws {
        let h = try Self.harness()
        try Self.expectFails(h, "top_k_nan_threshold", "vec.top_k: threshold must be a finite number, got nan")
        try Self.expectFails(h, "top_k_precision", "vec.top_k: precision must be 'exact', 'int8' or 'int4', got 'fast'")
    }

    @Test("vec.matrix with mixed dimensions fails the step instead of trapping in BatchScoring")
    func matrixDimensions() throws {
        let h = try Self.harness()
        try Self.expectFails(h, "matrix_dimensions", "vec.matrix: dimensions 2 and 3 differ (a[1] and b[2])")
        try Self.expectFails(h, "matrix_item",
                             "vec.matrix: item 1 of argument #1 is an empty table; a vector needs 1 to 65536 numbers")
    }

    @Test("vec.matrix with more than a million cells fails the step instead of exhausting memory")
    func matrixCells() throws {
        let h = try Self.harness()
        try Self.expectFails(h, "matrix_cells",
                             "vec.matrix: the result would have 1001 x 1001 cells; at most 1000000 are allowed")
    }

    @Test("vec.new with an empty or a huge table fails the step instead of making an unusable vector")
    func newSize() throws {
        let h = try Self.harness()
        try Self.expectFails(h, "new_empty", "vec.new: argument #1 is an empty table; a vector needs 1 to 65536 numbers")
        try Self.expectFails(h, "new_huge", "vec.new: argument #1 has 65537 numbers; a vector has at most 65536")
    }

    @Test("vec.new with NaN, infinity, a number beyond float range, a string or a hole fails the step")
    func newValues() throws {
        let h = try Self.harness()
        try Self.expectFails(h, "new_nan", "vec.new: component 2 of argument #1 is nan, not a finite number")
        try Self.expectFails(h, "new_inf", "vec.new: component 1 of argument #1 is -inf, not a finite number")
        try Self.expectFails(h, "new_float_range",
                             "vec.new: component 1 of argument #1 is 1e+300, outside the range of a float (about ±3.4e38)")
        try Self.expectFails(h, "new_string", "vec.new: component 2 of argument #1 is a string, not a number")
        try Self.expectFails(h, "new_holes", "vec.new: argument #1 must be a list of numbers, but has the key 3")
    }
}
