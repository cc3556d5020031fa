import CLua
import CLuaBridge

// Converting between Lua stack slots and LuaValue. Only non-raising Lua API calls: raw accessors
// (never lua_gettable and friends, which could run metamethods), and allocations here cannot
// fail because the bridge lets the allocator over-commit while Swift is on the stack.

/// Why a Lua value could not be converted; the message is what users see.
struct LuaConversionError: Error {
    let message: String
}

/// How deep nested tables read from Lua may go.
let luaMaximumTableDepth = 100
/// How deep nested tables pushed to Lua may go: the same as for reading, so whatever Lua gets from
/// the host it can also hand back.
let luaMaximumPushDepth = luaMaximumTableDepth

extension LuaVM {
    /// Converts the value at `index` of `L`.
    func readValue(_ L: OpaquePointer, _ index: Int32) throws(LuaConversionError) -> LuaValue {
        var scalar = blb_scalar()
        blb_read(L, index, &scalar)
        if let value = Self.scalarValue(scalar) { return value }
        var path: [UnsafeRawPointer] = []
        let top = lua_gettop(L)
        do {
            return try readObject(L, lua_absindex(L, index), type: scalar.type, path: &path)
        } catch {
            lua_settop(L, top)
            throw error
        }
    }

    /// The value of a nil, boolean, number or string; nil for any other type.
    @inline(__always)
    static func scalarValue(_ scalar: blb_scalar) -> LuaValue? {
        switch scalar.type {
        case LUA_TNIL, LUA_TNONE:
            return .nil
        case LUA_TBOOLEAN:
            return .bool(scalar.boolean != 0)
        case LUA_TNUMBER:
            return scalar.is_integer != 0 ? .int(scalar.integer) : .number(scalar.number)
        case LUA_TSTRING:
            // Invalid UTF-8 is repaired with U+FFFD.
            return .string(String(decoding: UnsafeRawBufferPointer(start: scalar.string, count: scalar.length), as: UTF8.self))
        default:
            return nil
        }
    }

    /// Converts a table, function, userdata (or refuses a thread or light userdata) at `index`.
    private func readObject(
        _ L: OpaquePointer, _ index: Int32, type: Int32, path: inout [UnsafeRawPointer]
    ) throws(LuaConversionError) -> LuaValue {
        switch type {
        case LUA_TTABLE:
            return .table(try readTable(L, index, path: &path))
        case LUA_TFUNCTION:
            return .function(makeRef(L, index))
        case LUA_TUSERDATA:
            return .userdata(makeRef(L, index))
        case LUA_TLIGHTUSERDATA:
            throw LuaConversionError(message: "cannot convert a light userdata value")
        default:
            throw LuaConversionError(message: "cannot convert a thread value (coroutine)")
        }
    }

    /// Converts the `count` values ending at the top of `L`, then pops them (also on failure).
    func popValues(_ L: OpaquePointer, count: Int32) throws(LuaConversionError) -> [LuaValue] {
        let top = lua_gettop(L)
        defer { lua_settop(L, top - count) }
        var values: [LuaValue] = []
        values.reserveCapacity(Int(count))
        var index = top - count + 1
        while index <= top {
            values.append(try readValue(L, index))
            index += 1
        }
        return values
    }

    /// The string at `index`, which must be a string (numbers would be converted in place).
    func readString(_ L: OpaquePointer, _ index: Int32) -> String {
        var length = 0
        guard let bytes = lua_tolstring(L, index, &length) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }

    /// One pass with lua_next: entries with keys 1, 2, 3, ... go to the array part as they come
    /// (Lua visits its array part first, in order); integer keys that arrived early are moved over
    /// at the end.
    private func readTable(
        _ L: OpaquePointer, _ index: Int32, path: inout [UnsafeRawPointer]
    ) throws(LuaConversionError) -> LuaTable {
        // A read-only host table converts as the table it stands for.
        if blb_push_readonly_target(L, index) != 0 {
            defer { clua_pop(L, 1) }
            return try readTable(L, lua_gettop(L), path: &path)
        }
        guard path.count < luaMaximumTableDepth else {
            throw LuaConversionError(message: "table nesting too deep (more than \(luaMaximumTableDepth) levels)")
        }
        let identity = lua_topointer(L, index)!
        // Only the path from the root matters: a table shared by two branches is not a cycle.
        if path.contains(identity) {
            throw LuaConversionError(message: "cannot convert a table that contains itself")
        }
        guard lua_checkstack(L, 4) != 0 else { throw LuaConversionError(message: "Lua stack overflow") }
        path.append(identity)
        defer { path.removeLast() }

        var array: [LuaValue] = []
        let length = lua_rawlen(L, index)
        // A border can be huge for a small table ({[1]=1, [2^62]=1}); the array grows as needed past this.
        if length > 0 { array.reserveCapacity(Int(truncatingIfNeeded: min(length, 65_536))) }
        var hash: [(key: LuaValue, value: LuaValue)] = []
        var next: lua_Integer = 1
        var integerKeysInHash = false
        var key = blb_scalar()
        var scalar = blb_scalar()
        lua_pushnil(L)
        while blb_next(L, index, &key, &scalar) != 0 {
            var value: LuaValue
            if let converted = Self.scalarValue(scalar) {
                value = converted
            } else {
                value = try readObject(L, lua_gettop(L), type: scalar.type, path: &path)
                clua_pop(L, 1)
            }
            if key.type == LUA_TNUMBER && key.is_integer != 0 {
                if key.integer == next {
                    array.append(value)
                    next += 1
                    continue
                }
                integerKeysInHash = true
            }
            let keyValue: LuaValue
            if let converted = Self.scalarValue(key) {
                keyValue = converted
            } else {
                keyValue = try readObject(L, lua_gettop(L), type: key.type, path: &path)
            }
            hash.append((key: keyValue, value: value))
        }
        if integerKeysInHash { Self.moveSequence(from: &hash, to: &array, next: next) }
        return LuaTable(array: array, hash: hash)
    }

    /// Moves entries with keys next, next + 1, ... from `hash` to the end of `array`.
    private static func moveSequence(
        from hash: inout [(key: LuaValue, value: LuaValue)], to array: inout [LuaValue], next: lua_Integer
    ) {
        var positions: [Int64: Int] = [:]
        for (position, entry) in hash.enumerated() {
            if case .int(let k) = entry.key, k >= next { positions[k] = position }
        }
        var moved = Set<Int>()
        var next = next
        while let position = positions[next] {
            array.append(hash[position].value)
            moved.insert(position)
            next += 1
        }
        guard !moved.isEmpty else { return }
        hash = hash.enumerated().filter { !moved.contains($0.offset) }.map(\.element)
    }

    /// A registry reference to the value at `index`.
    func makeRef(_ L: OpaquePointer, _ index: Int32) -> LuaRef {
        let identity = UInt(bitPattern: lua_topointer(L, index))
        lua_pushvalue(L, index)
        let reference = luaL_ref(L, clua_registryindex())
        return LuaRef(owner: owner, reference: reference, identity: identity)
    }

    /// Pushes `value`. Tables named by `readOnlyName` become read-only proxies (host tables).
    /// On failure nothing is pushed: the value nests deeper than ``luaMaximumPushDepth``, the Lua
    /// stack cannot grow, or a ref belongs to another VM.
    func push(_ L: OpaquePointer, _ value: LuaValue, readOnlyName: String? = nil) throws(LuaError) {
        guard case .table(let table) = value else {
            try pushLeaf(L, value)
            return
        }
        let top = lua_gettop(L)
        do {
            try pushTable(L, table, readOnlyName: readOnlyName, depth: 1)
        } catch {
            lua_settop(L, top)
            throw error
        }
    }

    /// Pushes anything but a table; only refs can fail, and before pushing anything.
    @inline(__always)
    private func pushLeaf(_ L: OpaquePointer, _ value: LuaValue) throws(LuaError) {
        switch value {
        case .nil, .table:
            lua_pushnil(L)
        case .bool(let b):
            lua_pushboolean(L, b ? 1 : 0)
        case .int(let i):
            lua_pushinteger(L, i)
        case .number(let d):
            lua_pushnumber(L, d)
        case .string(let s):
            pushString(L, s)
        case .function(let ref), .userdata(let ref):
            try pushRef(L, ref)
        }
    }

    func pushRef(_ L: OpaquePointer, _ ref: LuaRef) throws(LuaError) {
        if let problem = ref.problem { throw LuaError.host(problem) }
        guard ref.owner === owner else { throw LuaError.host("a LuaRef can only be used with the LuaVM it came from") }
        lua_rawgeti(L, clua_registryindex(), lua_Integer(ref.reference))
    }

    func pushString(_ L: OpaquePointer, _ string: String) {
        var string = string
        string.withUTF8 { bytes in
            _ = lua_pushlstring(L, UnsafeRawPointer(bytes.baseAddress)?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
    }

    /// Leaves whatever it pushed on failure; ``push(_:_:readOnlyName:)`` restores the top.
    private func pushTable(_ L: OpaquePointer, _ table: LuaTable, readOnlyName: String?, depth: Int) throws(LuaError) {
        // Checked before recursing: a value nested 100,000 deep (say, hostile JSON) would
        // overflow the Swift stack long before the Lua stack.
        guard depth <= luaMaximumPushDepth else {
            throw LuaError.host("value nested too deeply to pass to Lua (limit \(luaMaximumPushDepth) levels)")
        }
        // Each level needs the table, a key and a value.
        guard lua_checkstack(L, 4) != 0 else { throw LuaError.host("Lua stack overflow") }
        lua_createtable(L, Int32(clamping: table.array.count), Int32(clamping: table.hash.count))
        var index: lua_Integer = 1
        for element in table.array {
            if !element.isNil {
                try pushNested(L, element, readOnlyName: readOnlyName.map { "\($0)[\(index)]" }, depth: depth)
                lua_rawseti(L, -2, index)
            }
            index += 1
        }
        for entry in table.hash {
            // Lua raises on nil and NaN keys; nil values would be no-ops anyway.
            if entry.key.isNil || entry.value.isNil { continue }
            if case .number(let d) = entry.key, d.isNaN { continue }
            try pushNested(L, entry.key, readOnlyName: nil, depth: depth)
            try pushNested(
                L, entry.value, readOnlyName: readOnlyName.map { name in Self.fieldName(name, entry.key) }, depth: depth)
            lua_rawset(L, -3)
        }
        if let readOnlyName { blb_make_readonly(L, readOnlyName) }
    }

    @inline(__always)
    private func pushNested(_ L: OpaquePointer, _ value: LuaValue, readOnlyName: String?, depth: Int) throws(LuaError) {
        if case .table(let table) = value {
            try pushTable(L, table, readOnlyName: readOnlyName, depth: depth + 1)
        } else {
            try pushLeaf(L, value)
        }
    }

    static func fieldName(_ table: String, _ key: LuaValue) -> String {
        switch key {
        case .string(let s): return "\(table).\(s)"
        case .int(let i): return "\(table)[\(i)]"
        default: return "\(table)[?]"
        }
    }

    /// Sets `table[key] = top` without metamethods and pops the value.
    func rawSetField(_ L: OpaquePointer, table: Int32, key: String) {
        let table = lua_absindex(L, table)
        pushString(L, key)
        clua_insert(L, -2)
        lua_rawset(L, table)
    }
}
