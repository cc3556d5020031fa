import CLua
import CLuaBridge

extension LuaVM {
    /// Compiles `source` as a text chunk, runs it in a fresh sandbox environment and returns its
    /// results.
    ///
    /// `chunkName` is the script's path (`scripts/expire_old_jobs.lua`); errors then read
    /// `scripts/expire_old_jobs.lua:12: ...`. A name starting with `@` or `=` is used as Lua
    /// spells it. Syntax errors throw kind `.syntax`.
    public func load(_ source: String, chunkName: String) throws(LuaError) -> [LuaValue] {
        try run(source, chunkName: chunkName, sandboxed: true)
    }

    /// Runs trusted host Lua (engine prelude code) in the full standard library environment
    /// (`debug`, `io`, `os`, ... included) and returns its results. Functions it returns can be
    /// handed to scripts as values of ``setGlobalTable(_:functions:values:)``.
    public func loadTrusted(_ source: String, chunkName: String) throws(LuaError) -> [LuaValue] {
        try run(source, chunkName: chunkName, sandboxed: false)
    }

    /// Compiles `source` in a fresh sandbox environment without running it, returning the chunk
    /// as a function (for example to run it later as a coroutine).
    public func compile(_ source: String, chunkName: String) throws(LuaError) -> LuaRef {
        try enter()
        let L = state
        guard lua_checkstack(L, 4) != 0 else { throw LuaError.host("Lua stack overflow") }
        try pushChunk(L, source, chunkName: chunkName, sandboxed: true)
        defer { clua_pop(L, 1) }
        return makeRef(L, -1)
    }

    /// Calls a Lua function in protected mode; errors carry a traceback.
    public func call(_ function: LuaRef, _ args: [LuaValue]) throws(LuaError) -> [LuaValue] {
        try enter()
        let L = state
        let base = lua_gettop(L)
        guard lua_checkstack(L, Int32(clamping: args.count + 4)) != 0 else {
            throw LuaError.host("too many arguments (\(args.count)) for a Lua call")
        }
        do {
            try pushRef(L, function)
            for arg in args { try push(L, arg) }
        } catch {
            lua_settop(L, base)
            throw error
        }
        return try callPushed(L, base: base, argumentCount: Int32(args.count))
    }

    func run(_ source: String, chunkName: String, sandboxed: Bool) throws(LuaError) -> [LuaValue] {
        try enter()
        let L = state
        let base = lua_gettop(L)
        guard lua_checkstack(L, 4) != 0 else { throw LuaError.host("Lua stack overflow") }
        try pushChunk(L, source, chunkName: chunkName, sandboxed: sandboxed)
        return try callPushed(L, base: base, argumentCount: 0)
    }

    /// Compiles `source` and pushes the chunk function; throws (with nothing pushed) on failure.
    func pushChunk(_ L: OpaquePointer, _ source: String, chunkName: String, sandboxed: Bool) throws(LuaError) {
        var source = source
        let name = Self.luaChunkName(chunkName)
        let status = source.withUTF8 { bytes in
            blb_load(
                L, UnsafeRawPointer(bytes.baseAddress)?.assumingMemoryBound(to: CChar.self), bytes.count, name, "t")
        }
        guard status == LUA_OK else {
            lua_pushnil(L)  // no traceback for compile errors
            let error = popError(L, status: status)
            // Lua's mode check does not name the chunk; every other compile error does.
            guard error.message.hasPrefix("attempt to load a binary chunk") else { throw error }
            throw LuaError(kind: .syntax, message: "\(Self.displayName(chunkName)): \(error.message)")
        }
        if sandboxed {
            pushNewEnvironment(L)
            _ = lua_setupvalue(L, -2, 1)  // a main chunk's first and only upvalue is _ENV
        }
    }

    /// Runs the function and arguments pushed above `base` and returns all its results.
    func callPushed(_ L: OpaquePointer, base: Int32, argumentCount: Int32) throws(LuaError) -> [LuaValue] {
        let status = blb_pcall(L, argumentCount, clua_multret())
        guard status == LUA_OK else { throw popError(L, status: status) }
        let count = lua_gettop(L) - base
        let results: [LuaValue]
        do {
            results = try popValues(L, count: count)
        } catch {
            throw LuaError.host(error.message)
        }
        // A script that swallowed a limit error with pcall still fails.
        if let limitError = trippedLimitError() { throw limitError }
        return results
    }

    /// Pushes a fresh sandbox environment: an empty table whose metatable reads the frozen globals.
    func pushNewEnvironment(_ L: OpaquePointer) {
        lua_createtable(L, 0, 0)
        lua_rawgeti(L, clua_registryindex(), lua_Integer(environmentMetatable))
        lua_setmetatable(L, -2)
    }

    static func luaChunkName(_ name: String) -> String {
        name.hasPrefix("@") || name.hasPrefix("=") ? name : "@" + name
    }

    /// The chunk name as Lua shows it in messages.
    static func displayName(_ name: String) -> String {
        name.hasPrefix("@") || name.hasPrefix("=") ? String(name.dropFirst()) : name
    }

    /// Builds the error for a failed compile or pcall from the error object and the traceback
    /// (or nil) on top of `L`, and pops both.
    func popError(_ L: OpaquePointer, status: Int32) -> LuaError {
        defer { clua_pop(L, 2) }
        let traceback = lua_type(L, -1) == LUA_TSTRING ? readString(L, -1) : nil
        return makeError(L, -2, status: status, traceback: traceback)
    }

    /// Builds the error for the error object at `index` of `L` (left in place).
    func makeError(_ L: OpaquePointer, _ index: Int32, status: Int32, traceback: String?) -> LuaError {
        let index = lua_absindex(L, index)
        var message: String
        var value: LuaValue?
        switch lua_type(L, index) {
        case LUA_TSTRING:
            message = readString(L, index)
        case LUA_TNUMBER:
            value = try? readValue(L, index)
            message = value.map(Self.numberText) ?? "?"
        default:
            value = try? readValue(L, index)
            message = "(error object is a \(String(cString: lua_typename(L, lua_type(L, index)))) value)"
        }
        let tripped = blb_tripped(bridge)
        let kind: LuaError.Kind
        if status == LUA_ERRSYNTAX {
            kind = .syntax
        } else if status == LUA_ERRMEM || tripped == Int32(BLB_TRIPPED_MEMORY) {
            kind = .memoryLimit
        } else if tripped == Int32(BLB_TRIPPED_INSTRUCTIONS) {
            kind = .instructionLimit
        } else if tripped == Int32(BLB_TRIPPED_TIME) {
            kind = .timeLimit
        } else {
            kind = .runtime
        }
        // Lua says "not enough memory" when the allocator refuses; say which limit it was instead.
        // And a script that caught a limit error and raised its own still failed on the limit.
        if let limitMessage = limitMessage(kind), !message.contains(limitMessage) { message = limitMessage }
        return LuaError(kind: kind, message: message, traceback: traceback, value: value)
    }

    static func numberText(_ value: LuaValue) -> String {
        switch value {
        case .int(let i): return String(i)
        case .number(let d): return String(d)
        default: return "?"
        }
    }

    /// The message of a limit kind, nil for other kinds.
    func limitMessage(_ kind: LuaError.Kind) -> String? {
        switch kind {
        case .memoryLimit: return String(cString: blb_memory_message(bridge))
        case .instructionLimit: return String(cString: blb_instruction_message(bridge))
        case .timeLimit: return String(cString: blb_time_message(bridge))
        default: return nil
        }
    }

    /// The error for a limit that tripped during work that otherwise succeeded.
    func trippedLimitError() -> LuaError? {
        let kind: LuaError.Kind
        switch blb_tripped(bridge) {
        case Int32(BLB_TRIPPED_MEMORY): kind = .memoryLimit
        case Int32(BLB_TRIPPED_INSTRUCTIONS): kind = .instructionLimit
        case Int32(BLB_TRIPPED_TIME): kind = .timeLimit
        default: return nil
        }
        return limitMessage(kind).map { LuaError(kind: kind, message: $0) }
    }

    /// Lua's own string.find/match/gmatch/gsub, which the VM replaced with step-counting versions:
    /// a table value of functions, so tests can compare the two matchers.
    func stockStringFunctions() throws(LuaError) -> LuaValue {
        let L = state
        guard lua_checkstack(L, 4) != 0 else { throw LuaError.host("Lua stack overflow") }
        blb_push_stock_string_functions(L)
        defer { clua_pop(L, 1) }
        do {
            return try readValue(L, -1)
        } catch {
            throw LuaError.host(error.message)
        }
    }

    /// Releases registry references and Swift objects that Lua or Swift let go of. Called at the
    /// start of each entry into Lua, where no half-built stack state can be disturbed.
    func drainReleased() {
        if owner.hasPending {
            for reference in owner.takePending() { luaL_unref(mainState, clua_registryindex(), reference) }
        }
        guard blb_released_count(bridge) > 0 else { return }
        var released = [blb_released](repeating: blb_released(), count: 32)
        while blb_released_count(bridge) > 0 {
            let n = Int(blb_take_released(bridge, &released, 32))
            for item in released[0..<n] {
                if let object = item.object {
                    Unmanaged<AnyObject>.fromOpaque(object).release()
                } else if item.slot >= 0, Int(item.slot) < functions.count {
                    functions[Int(item.slot)] = nil
                    freeSlots.append(item.slot)
                }
            }
        }
    }
}
