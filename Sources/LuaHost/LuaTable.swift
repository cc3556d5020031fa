/// A Lua table as plain data: the sequence part `1...n` in `array`, every other key in `hash`.
///
/// Tables read from Lua put keys `1...n` (up to the first missing index) in `array` and all other
/// keys in `hash`, in Lua's iteration order. Equality ignores the order of `hash`.
public struct LuaTable: Sendable {
    /// Values for keys 1, 2, ..., n. A `.nil` element leaves a hole when pushed to Lua.
    public var array: [LuaValue]
    /// All other entries. Entries whose key or value is `.nil` (or whose key is NaN) are skipped
    /// when pushed to Lua, which cannot store them.
    public var hash: [(key: LuaValue, value: LuaValue)]

    public init(array: [LuaValue] = [], hash: [(key: LuaValue, value: LuaValue)] = []) {
        self.array = array
        self.hash = hash
    }

    /// A table with string keys, sorted by key so the result is deterministic.
    public static func from(_ dictionary: [String: LuaValue]) -> LuaTable {
        LuaTable(hash: dictionary.sorted { $0.key < $1.key }.map { (key: .string($0.key), value: $0.value) })
    }

    /// The value stored under a string key in the hash part, or nil when absent.
    public subscript(key: String) -> LuaValue? {
        get {
            for entry in hash {
                if case .string(let k) = entry.key, k == key { return entry.value }
            }
            return nil
        }
        set {
            if let index = hash.firstIndex(where: { $0.key == .string(key) }) {
                if let newValue { hash[index].value = newValue } else { hash.remove(at: index) }
            } else if let newValue {
                hash.append((key: .string(key), value: newValue))
            }
        }
    }

    public var isEmpty: Bool { array.isEmpty && hash.isEmpty }
}

extension LuaTable: Hashable {
    public static func == (lhs: LuaTable, rhs: LuaTable) -> Bool {
        guard lhs.array == rhs.array, lhs.hash.count == rhs.hash.count else { return false }
        if lhs.hash.count <= 8 {
            return lhs.hash.allSatisfy { entry in rhs.hash.contains { $0.key == entry.key && $0.value == entry.value } }
        }
        var remaining = [LuaValue: LuaValue](minimumCapacity: rhs.hash.count)
        for entry in rhs.hash { remaining[entry.key] = entry.value }
        return lhs.hash.allSatisfy { remaining[$0.key] == $0.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(array)
        // Order-independent, to agree with ==.
        var combined = 0
        for entry in hash {
            var inner = Hasher()
            inner.combine(entry.key)
            inner.combine(entry.value)
            combined ^= inner.finalize()
        }
        hasher.combine(hash.count)
        hasher.combine(combined)
    }
}
