import Foundation
import LuaHost
import VectorScoring

/// Reading the `vec` API's arguments for one function: the one place where a script's values become vectors
/// and options, so each is checked here, once, and VectorScoring's loops behind it can trust what they get.
/// Every refusal is an error naming the function and the bad value; thrown from a host function it becomes a
/// Lua error at the script's line and fails the step, instead of a trap that takes the process (and, as the
/// run is claimed again after a restart, every restart) down.
struct VectorArguments {
    let vm: LuaVM
    /// The Lua name, e.g. `vec.dot`.
    let function: String

    /// The largest `k` of `vec.top_k`: more results than that is a report, not a match list, and a bound keeps
    /// the heaps and the result table small whatever a script passes.
    static let maximumK = 100_000
    /// The most cells `vec.matrix` returns: the result becomes a Lua table of 16 bytes per number, and the Lua
    /// memory cap is 64 MiB by default (`LuaVM.Limits`), so a million (16 MB) still leaves room for the script.
    static let maximumMatrixCells = 1_000_000

    /// Argument `i` as a vector: a `vec` userdata, or a list of 1 to `Vector.maximumDimension` finite numbers.
    func vector(_ args: LuaCallArguments, _ i: Int) throws -> Vector {
        try vector(args[i], "argument #\(i)", typeName: args.typeName(i), argument: i)
    }

    /// Argument `i` as a list of vectors (for `vec.matrix`).
    func vectors(_ args: LuaCallArguments, _ i: Int) throws -> [Vector] {
        try args.table(i, name: function).array.enumerated().map { j, item in
            try vector(item, "item \(j + 1) of argument #\(i)", typeName: item.typeName, argument: nil)
        }
    }

    private func vector(_ value: LuaValue, _ what: String, typeName: String, argument: Int?) throws -> Vector {
        switch value {
        case .userdata(let ref):
            // Userdata vectors were checked when a script made them, or come from a real[] column.
            if let box = vm.object(of: ref) as? VectorBox { return box.vector }
        case .table(let t):
            return try vector(t, what)
        default:
            break
        }
        if let argument {
            throw MatchingError("bad argument #\(argument) to '\(function)' (vector expected, got \(typeName))")
        }
        throw MatchingError("\(function): \(what) must be a vector, got \(typeName)")
    }

    private func vector(_ table: LuaTable, _ what: String) throws -> Vector {
        if let extra = table.hash.first {
            throw MatchingError("\(function): \(what) must be a list of numbers, but has the key \(Self.describe(extra.key))")
        }
        let count = table.array.count
        guard count > 0 else {
            throw MatchingError("\(function): \(what) is an empty table; a vector needs 1 to \(Vector.maximumDimension) numbers")
        }
        guard count <= Vector.maximumDimension else {
            throw MatchingError("\(function): \(what) has \(count) numbers; a vector has at most \(Vector.maximumDimension)")
        }
        var values = [Float]()
        values.reserveCapacity(count)
        for (j, item) in table.array.enumerated() {
            guard let number = item.asDouble else {
                throw MatchingError("\(function): component \(j + 1) of \(what) is a \(item.typeName), not a number")
            }
            guard number.isFinite else {
                throw MatchingError("\(function): component \(j + 1) of \(what) is \(Self.describe(item)), not a finite number")
            }
            let float = Float(number)
            guard float.isFinite else {
                throw MatchingError("\(function): component \(j + 1) of \(what) is \(Self.describe(item)), "
                                    + "outside the range of a float (about ±3.4e38)")
            }
            values.append(float)
        }
        return Vector(values)
    }

    /// `vec.matrix`'s checks in the script's terms (1-based items), before any memory is taken: one dimension
    /// throughout, and at most `maximumMatrixCells` cells.
    func checkMatrix(_ a: [Vector], _ b: [Vector]) throws {
        if let dimension = (a.first ?? b.first)?.dimension {
            let firstName = a.isEmpty ? "b[1]" : "a[1]"
            for (name, list) in [("a", a), ("b", b)] {
                guard let i = list.firstIndex(where: { $0.dimension != dimension }) else { continue }
                throw MatchingError("\(function): dimensions \(dimension) and \(list[i].dimension) differ "
                                    + "(\(firstName) and \(name)[\(i + 1)])")
            }
        }
        let (cells, overflow) = a.count.multipliedReportingOverflow(by: b.count)
        guard !overflow, cells <= Self.maximumMatrixCells else {
            throw MatchingError("\(function): the result would have \(a.count) x \(b.count) cells; at most "
                                + "\(Self.maximumMatrixCells) are allowed")
        }
    }

    /// `k` of `vec.top_k` from its options (default 10).
    func k(_ value: LuaValue?) throws -> Int {
        guard let value, !value.isNil else { return 10 }
        guard value.asDouble != nil else { throw MatchingError("\(function): k must be a number, got \(value.typeName)") }
        // asInt is nil for a fraction, a NaN or infinity, and a float outside Int64.
        guard let k = value.asInt, (1...Int64(Self.maximumK)).contains(k) else {
            throw MatchingError("\(function): k must be between 1 and \(Self.maximumK), got \(Self.describe(value))")
        }
        return Int(k)
    }

    /// `threshold` of `vec.top_k` from its options (nil = none).
    func threshold(_ value: LuaValue?) throws -> Float? {
        guard let value, !value.isNil else { return nil }
        guard let number = value.asDouble else {
            throw MatchingError("\(function): threshold must be a number, got \(value.typeName)")
        }
        guard number.isFinite else {
            throw MatchingError("\(function): threshold must be a finite number, got \(Self.describe(value))")
        }
        return Float(number)
    }

    /// `precision` of `vec.top_k` from its options.
    func precision(_ value: LuaValue?) throws -> VectorIndex.Precision {
        switch value {
        case nil, .nil?, .string("exact")?: return .exact
        case .string("int8")?: return .int8
        case .string("int4")?: return .int4
        case let other?:
            throw MatchingError("\(function): precision must be 'exact', 'int8' or 'int4', got \(Self.describe(other))")
        }
    }

    /// Runs a VectorScoring call and puts this function's Lua name on its refusals (`vec.dot: dimensions 1 and 2
    /// differ`), so the script's author reads the name they wrote.
    func scoring<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as VectorScoringError {
            throw MatchingError("\(function): \(error.reason)")
        }
    }

    /// A value as a script's author would write it: `9223372036854775807`, `2.5`, `nan`, `'text'`.
    static func describe(_ value: LuaValue) -> String {
        switch value {
        case .int(let i): return String(i)
        case .number(let d): return d.isNaN ? "nan" : String(format: "%.14g", d)
        case .string(let s): return "'\(s.count > 40 ? String(s.prefix(40)) + "..." : s)'"
        default: return "a \(value.typeName)"
        }
    }
}
