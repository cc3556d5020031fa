import CLua

extension LuaVM {
    /// The current line of the Lua function `level` frames up from the running host function
    /// (1 = its caller), for host functions that report where they were called. Non-raising.
    public func callerLine(level: Int32 = 1) -> Int? {
        var ar = lua_Debug()
        guard lua_getstack(state, level, &ar) != 0, lua_getinfo(state, "l", &ar) != 0 else { return nil }
        return ar.currentline > 0 ? Int(ar.currentline) : nil
    }
}
