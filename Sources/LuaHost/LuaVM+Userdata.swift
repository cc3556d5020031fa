import CLua
import CLuaBridge

extension LuaVM {
    /// Registers (or replaces) a userdata type: Lua code calls `methods` with `value:method(...)`
    /// (the userdata is argument 1) and `metamethods` implement operators (`__len`, `__tostring`,
    /// `__eq`, ...; an `__index` here replaces the method table). `__gc` and `__metatable` are
    /// reserved. Scripts see `getmetatable(value) == name`.
    ///
    /// Should the Lua stack be exhausted (only possible when called from a host function deep in
    /// Lua recursion), the type stays unregistered and the next entry into Lua throws.
    public func registerUserdataType(
        _ name: String, methods: [String: LuaFunction], metamethods: [String: LuaFunction] = [:]
    ) {
        drainReleased()
        let L = state
        guard lua_checkstack(L, 6) != 0 else {
            if deferredError == nil {
                deferredError = LuaError.host("cannot register userdata type '\(name)': Lua stack overflow")
            }
            return
        }
        lua_createtable(L, 0, Int32(clamping: metamethods.count + 4))
        lua_createtable(L, 0, Int32(clamping: methods.count))
        for (key, method) in methods {
            pushFunction(L, method)
            rawSetField(L, table: -2, key: key)
        }
        rawSetField(L, table: -2, key: "__index")
        for (key, method) in metamethods where key != "__gc" && key != "__metatable" {
            pushFunction(L, method)
            rawSetField(L, table: -2, key: key)
        }
        blb_prepare_object_metatable(L, name)
        let reference = luaL_ref(L, clua_registryindex())
        if let old = userdataMetatables.updateValue(reference, forKey: name) {
            luaL_unref(L, clua_registryindex(), old)  // existing userdata keep their metatable alive
        }
    }

    /// Wraps `object` in a new Lua userdata of a registered `type`, to return from a
    /// ``LuaFunction`` or pass to Lua code. The userdata retains the object until Lua collects it.
    ///
    /// When that fails (`type` is not registered, the Lua stack is exhausted) the result is a value
    /// whose use throws the error: returned from a host function it becomes a Lua error at the
    /// caller's line. ``makeUserdata(_:type:)`` throws right away instead.
    public func pushableUserdata(_ object: AnyObject, type: String) -> LuaValue {
        do {
            return try makeUserdata(object, type: type)
        } catch {
            return .userdata(LuaRef(owner: owner, problem: error.message))
        }
    }

    /// Like ``pushableUserdata(_:type:)``, but throws a `.host` error when `type` is not registered
    /// or the Lua stack is exhausted.
    public func makeUserdata(_ object: AnyObject, type: String) throws(LuaError) -> LuaValue {
        guard let metatable = userdataMetatables[type] else {
            throw LuaError.host("userdata type '\(type)' is not registered (call registerUserdataType first)")
        }
        drainReleased()
        let L = state
        guard lua_checkstack(L, 3) != 0 else { throw LuaError.host("Lua stack overflow") }
        lua_rawgeti(L, clua_registryindex(), lua_Integer(metatable))
        blb_push_object(L, Unmanaged<AnyObject>.passRetained(object).toOpaque())
        defer { clua_pop(L, 1) }
        return .userdata(makeRef(L, -1))
    }

    /// The Swift object behind a userdata made by ``pushableUserdata(_:type:)``, else nil.
    public func object(of ref: LuaRef) -> AnyObject? {
        let L = state
        guard ref.problem == nil, ref.owner === owner, lua_checkstack(L, 1) != 0 else { return nil }
        lua_rawgeti(L, clua_registryindex(), lua_Integer(ref.reference))
        defer { clua_pop(L, 1) }
        guard let object = blb_to_object(L, -1) else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(object).takeUnretainedValue()
    }
}
