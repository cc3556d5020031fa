import CLua
import CLuaBridge

// Converting between Lua stack slots and LuaValue. Only non-raising Lua API calls: raw accessors
// (never lua_gettable and friends, which could run metamethods), and allocations here cannot
// fail because the bridge lets the allocator over-commit while Swift is on the stack.

/// Why a Lua value could not be converted; the message is what users see.
struct LuaConversionError: Error {
    let message: String
}

/// How deep nested tables may go in either direction.
let luaMaximumTableDepth = 100

extension LuaVM {
    /// Converts the value at `index` of `L`.
    func readValue(_ L: OpaquePointer, _ index: Int32) throws(LuaConversionError) -> LuaValue {
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE:
            return .nil
        case LUA_TBOOLEAN:
            return .bool(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            return lua_isinteger(L, index) != 0 ? .int(clua_tointeger(L, index)) : .number(clua_tonumber(L, index))
        case LUA_TSTRING:
            return .string(readString(L, index))
        case LUA_TTABLE:
            var path: [UnsafeRawPointer] = []
            let top = lua_gettop(L)
            do {
                return .table(try readTable(L, lua_absindex(L, index), path: &path))
            } catch {
                lua_settop(L, top)
                throw error
            }
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
        // Invalid UTF-8 is repaired with U+FFFD.
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }

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
        guard lua_checkstack(L, 3) != 0 else { throw LuaConversionError(message: "Lua stack overflow") }
        path.append(identity)
        defer { path.removeLast() }

        var array: [LuaValue] = []
        let length = lua_rawlen(L, index)
        if length > 0 { array.reserveCapacity(Int(truncatingIfNeeded: length)) }
        var count: lua_Integer = 0
        while lua_rawgeti(L, index, count + 1) != LUA_TNIL {
            array.append(try readValue(L, -1, path: &path))
            clua_pop(L, 1)
            count += 1
        }
        clua_pop(L, 1)

        var hash: [(key: LuaValue, value: LuaValue)] = []
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            if count > 0, lua_isinteger(L, -2) != 0 {
                let key = clua_tointeger(L, -2)
                if key >= 1 && key <= count {
                    clua_pop(L, 1)
                    continue
                }
            }
            let key = try readValue(L, -2, path: &path)
            let value = try readValue(L, -1, path: &path)
            hash.append((key: key, value: value))
            clua_pop(L, 1)
        }
        return LuaTable(array: array, hash: hash)
    }

    private func readValue(
        _ L: OpaquePointer, _ index: Int32, path: inout [UnsafeRawPointer]
    ) throws(LuaConversionError) -> LuaValue {
        if lua_type(L, index) == LUA_TTABLE {
            return .table(try readTable(L, lua_absindex(L, index), path: &path))
        }
        return try readValue(L, index)
    }

    /// A registry reference to the value at `index`.
    func makeRef(_ L: OpaquePointer, _ index: Int32) -> LuaRef {
        let identity = UInt(bitPattern: lua_topointer(L, index))
        lua_pushvalue(L, index)
        let reference = luaL_ref(L, clua_registryindex())
        return LuaRef(owner: owner, reference: reference, identity: identity)
    }

    /// Pushes `value`. Tables named by `readOnlyName` become read-only proxies (host tables).
    func push(_ L: OpaquePointer, _ value: LuaValue, readOnlyName: String? = nil) {
        switch value {
        case .nil:
            lua_pushnil(L)
        case .bool(let b):
            lua_pushboolean(L, b ? 1 : 0)
        case .int(let i):
            lua_pushinteger(L, i)
        case .number(let d):
            lua_pushnumber(L, d)
        case .string(let s):
            pushString(L, s)
        case .table(let table):
            pushTable(L, table, readOnlyName: readOnlyName)
        case .function(let ref), .userdata(let ref):
            pushRef(L, ref)
        }
    }

    func pushRef(_ L: OpaquePointer, _ ref: LuaRef) {
        precondition(ref.owner === owner, "a LuaRef can only be used with the LuaVM it came from")
        lua_rawgeti(L, clua_registryindex(), lua_Integer(ref.reference))
    }

    func pushString(_ L: OpaquePointer, _ string: String) {
        var string = string
        string.withUTF8 { bytes in
            _ = lua_pushlstring(L, UnsafeRawPointer(bytes.baseAddress)?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
    }

    private func pushTable(_ L: OpaquePointer, _ table: LuaTable, readOnlyName: String?) {
        // Each level needs the table, a key and a value; a failure here means absurd nesting.
        precondition(lua_checkstack(L, 4) != 0, "Lua stack overflow while pushing a nested table")
        lua_createtable(L, Int32(clamping: table.array.count), Int32(clamping: table.hash.count))
        var index: lua_Integer = 1
        for element in table.array {
            if !element.isNil {
                push(L, element, readOnlyName: readOnlyName.map { "\($0)[\(index)]" })
                lua_rawseti(L, -2, index)
            }
            index += 1
        }
        for entry in table.hash {
            // Lua raises on nil and NaN keys; nil values would be no-ops anyway.
            if entry.key.isNil || entry.value.isNil { continue }
            if case .number(let d) = entry.key, d.isNaN { continue }
            push(L, entry.key)
            push(L, entry.value, readOnlyName: readOnlyName.map { name in Self.fieldName(name, entry.key) })
            lua_rawset(L, -3)
        }
        if let readOnlyName { blb_make_readonly(L, readOnlyName) }
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
