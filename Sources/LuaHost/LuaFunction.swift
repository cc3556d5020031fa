/// A Swift function callable from Lua.
///
/// It runs as a leaf call (it may call back into Lua with ``LuaVM/call(_:_:)``) and returns its
/// results. A thrown error becomes a Lua error raised from C at the caller's line, catchable by
/// `pcall`: a ``LuaError`` of kind `.host` or any other error is prefixed with the caller's
/// position (`scripts/x.lua:3: <description>`); a ``LuaError`` that came out of nested Lua code is
/// re-raised as is (its `value`, when set, is raised as the error object). Throw ``LuaYield`` to
/// yield the running coroutine.
public typealias LuaFunction = (LuaCallArguments) throws -> [LuaValue]

/// Thrown from a ``LuaFunction`` to yield the running coroutine with `values`. The values passed
/// to the next resume become the function's results in Lua. Outside a coroutine, or under a
/// `lua_pcall` made by the host, Lua raises "attempt to yield ..." instead.
public struct LuaYield: Error {
    public var values: [LuaValue]
    public init(_ values: [LuaValue] = []) { self.values = values }
}
