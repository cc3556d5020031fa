import CLua
import CLuaBridge

extension LuaVM {
    /// Registers (or replaces) a userdata type: Lua code calls `methods` with `value:method(...)`
    /// (the userdata is argument 1) and `metamethods` implement operators (`__len`, `__tostring`,
    /// `__eq`, ...; an `__index` here replaces the method table). `__gc` and `__metatable` are
    /// reserved. Scripts see `getmetatable(value) == name`.
    public func registerUserdataType(
        _ name: String, methods: [String: LuaFunction], metamethods: [String: LuaFunction] = [:]
    ) {
        drainReleased()
        let L = state
        precondition(lua_checkstack(L, 6) != 0, "Lua stack overflow")
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
    public func pushableUserdata(_ object: AnyObject, type: String) -> LuaValue {
        guard let metatable = userdataMetatables[type] else {
            preconditionFailure("userdata type '\(type)' is not registered (call registerUserdataType first)")
        }
        drainReleased()
        let L = state
        precondition(lua_checkstack(L, 3) != 0, "Lua stack overflow")
        lua_rawgeti(L, clua_registryindex(), lua_Integer(metatable))
        blb_push_object(L, Unmanaged<AnyObject>.passRetained(object).toOpaque())
        defer { clua_pop(L, 1) }
        return .userdata(makeRef(L, -1))
    }

    /// The Swift object behind a userdata made by ``pushableUserdata(_:type:)``, else nil.
    public func object(of ref: LuaRef) -> AnyObject? {
        let L = state
        guard lua_checkstack(L, 1) != 0 else { return nil }
        pushRef(L, ref)
        defer { clua_pop(L, 1) }
        guard let object = blb_to_object(L, -1) else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(object).takeUnretainedValue()
    }
}
