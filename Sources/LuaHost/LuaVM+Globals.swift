import CLua
import CLuaBridge

extension LuaVM {
    /// Adds (or replaces) a read-only host table visible to every chunk, e.g. `db` with functions.
    ///
    /// Scripts cannot change it (`attempt to modify read-only table 'db'`), nor any table nested
    /// in `values` (`'db.limits'`). `pairs`, `ipairs`, `#` and indexing work as usual; `next` and
    /// `rawget` see an empty proxy.
    ///
    /// A value that cannot be passed to Lua (nested too deeply, a ref of another VM) leaves the
    /// global unchanged; the next ``load(_:chunkName:)``, ``call(_:_:)``, ``compile(_:chunkName:)``
    /// or coroutine resume throws that error.
    public func setGlobalTable(_ name: String, functions: [String: LuaFunction], values: [String: LuaValue] = [:]) {
        drainReleased()
        let L = state
        let top = lua_gettop(L)
        guard lua_checkstack(L, 6) != 0 else { return deferError(global: name, LuaError.host("Lua stack overflow")) }
        lua_rawgeti(L, clua_registryindex(), lua_Integer(sandboxGlobals))
        lua_createtable(L, 0, Int32(clamping: functions.count + values.count))
        for (key, value) in values {
            do {
                try push(L, value, readOnlyName: "\(name).\(key)")
            } catch {
                lua_settop(L, top)
                return deferError(global: "\(name).\(key)", error)
            }
            rawSetField(L, table: -2, key: key)
        }
        for (key, function) in functions {
            pushFunction(L, function)
            rawSetField(L, table: -2, key: key)
        }
        blb_make_readonly(L, name)
        rawSetField(L, table: -2, key: name)
        clua_pop(L, 1)
    }

    /// Adds (or replaces) a global function visible to every chunk.
    public func setGlobalFunction(_ name: String, _ fn: @escaping LuaFunction) {
        drainReleased()
        let L = state
        guard lua_checkstack(L, 4) != 0 else { return deferError(global: name, LuaError.host("Lua stack overflow")) }
        lua_rawgeti(L, clua_registryindex(), lua_Integer(sandboxGlobals))
        pushFunction(L, fn)
        rawSetField(L, table: -2, key: name)
        clua_pop(L, 1)
    }

    /// Adds (or replaces) a read-only global value visible to every chunk (tables become
    /// read-only proxies, as in ``setGlobalTable(_:functions:values:)``, which also says what
    /// happens to a value that cannot be passed to Lua).
    public func setGlobalValue(_ name: String, _ value: LuaValue) {
        drainReleased()
        let L = state
        guard lua_checkstack(L, 4) != 0 else { return deferError(global: name, LuaError.host("Lua stack overflow")) }
        lua_rawgeti(L, clua_registryindex(), lua_Integer(sandboxGlobals))
        do {
            try push(L, value, readOnlyName: name)
        } catch {
            clua_pop(L, 1)
            return deferError(global: name, error)
        }
        rawSetField(L, table: -2, key: name)
        clua_pop(L, 1)
    }

    /// A Lua function that calls `fn`, for passing to Lua code as a value (say, as a callback).
    /// When the Lua stack is exhausted, passing the result to Lua throws "Lua stack overflow".
    public func makeFunction(_ fn: @escaping LuaFunction) -> LuaRef {
        drainReleased()
        let L = state
        guard lua_checkstack(L, 3) != 0 else { return LuaRef(owner: owner, problem: "Lua stack overflow") }
        pushFunction(L, fn)
        defer { clua_pop(L, 1) }
        return makeRef(L, -1)
    }

    /// Pushes a Lua closure calling `fn`. Swift keeps `fn` alive in a slot until Lua collects the
    /// closure; the trampoline gets the function object itself, so a call costs no lookup.
    func pushFunction(_ L: OpaquePointer, _ fn: @escaping LuaFunction) {
        let function = HostFunction(fn)
        let slot: Int32
        if let free = freeSlots.popLast() {
            functions[Int(free)] = function
            slot = free
        } else {
            functions.append(function)
            slot = Int32(functions.count - 1)
        }
        blb_push_function(L, slot, Unmanaged.passUnretained(function).toOpaque())
    }

    /// Keeps the first error of a setter that cannot throw, for the next entry into Lua to throw.
    func deferError(global name: String, _ error: LuaError) {
        if deferredError == nil { deferredError = LuaError.host("cannot set global '\(name)': \(error.message)") }
    }

    /// Every entry into Lua starts here: releases what was let go of and throws a deferred error.
    func enter() throws(LuaError) {
        drainReleased()
        if let error = deferredError {
            deferredError = nil
            throw error
        }
    }

    /// Runs the sandbox prelude and keeps the frozen globals and environment metatable.
    func installSandbox() throws(LuaError) {
        let L = mainState
        let base = lua_gettop(L)
        try pushChunk(L, luaSandboxPrelude, chunkName: "=[LuaHost sandbox]", sandboxed: false)
        blb_push_sandbox_helpers(L)
        pushFunction(L) { args in
            args.vm.printHandler(try args.string(1, name: "print"))
            return []
        }
        pushFunction(L) { args in
            let name = try args.string(1, name: "require")
            guard let module = args.vm.moduleSource(name) else { return [] }
            return [.string(module.source), .string(LuaVM.luaChunkName(module.chunkName))]
        }
        let status = blb_pcall(L, 3, 2)
        guard status == LUA_OK else { throw popError(L, status: status) }
        environmentMetatable = luaL_ref(L, clua_registryindex())
        sandboxGlobals = luaL_ref(L, clua_registryindex())
        lua_settop(L, base)
    }
}
