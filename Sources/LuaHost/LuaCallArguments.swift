import CLua
import CLuaBridge

/// The arguments of a call from Lua into a ``LuaFunction``, read from the Lua stack on demand.
///
/// Positions are 1-based, as in Lua and its error messages (`bad argument #1 to 'db.query'`).
/// Only valid during the call: do not keep it. Typed accessors read the stack directly and throw
/// Lua-style argument errors; the subscript and ``values`` convert to ``LuaValue``.
public struct LuaCallArguments {
    unowned(unsafe) let vm: LuaVM
    let state: OpaquePointer
    /// How many arguments Lua passed.
    public let count: Int

    init(vm: LuaVM, state: OpaquePointer, count: Int) {
        self.vm = vm
        self.state = state
        self.count = count
    }

    /// Argument `i` (1-based); `.nil` when missing or when it cannot be converted (threads, light
    /// userdata, self-containing tables; use ``value(_:name:)`` to get that error instead).
    public subscript(i: Int) -> LuaValue {
        guard i >= 1, i <= count else { return .nil }
        return (try? vm.readValue(state, Int32(i))) ?? .nil
    }

    /// All arguments, converted as by the subscript.
    public var values: [LuaValue] {
        guard count > 0 else { return [] }
        return (1...count).map { self[$0] }
    }

    /// Argument `i` converted to a ``LuaValue``, or a "bad argument" error naming the problem.
    public func value(_ i: Int, name: String) throws(LuaError) -> LuaValue {
        guard i >= 1, i <= count else { return .nil }
        do {
            return try vm.readValue(state, Int32(i))
        } catch {
            throw argumentError(i, name, error.message)
        }
    }

    /// True when argument `i` is nil or missing.
    public func isNil(_ i: Int) -> Bool {
        i < 1 || i > count || lua_type(state, Int32(i)) == LUA_TNIL
    }

    /// The Lua type name of argument `i` ("no value" when missing).
    public func typeName(_ i: Int) -> String {
        guard i >= 1, i <= count else { return "no value" }
        return String(cString: lua_typename(state, lua_type(state, Int32(i))))
    }

    public func string(_ i: Int, name: String) throws(LuaError) -> String {
        guard let s = try optionalString(i, name: name) else { throw typeError(i, name, expected: "string") }
        return s
    }

    /// The string, nil when the argument is nil or missing, an error for any other type.
    public func optionalString(_ i: Int, name: String) throws(LuaError) -> String? {
        let value = read(i)
        switch value.type {
        case LUA_TSTRING:
            return String(decoding: UnsafeRawBufferPointer(start: value.string, count: value.length), as: UTF8.self)
        case LUA_TNIL, LUA_TNONE:
            return nil
        default:
            throw typeError(i, name, expected: "string")
        }
    }

    /// An integer; floats with an exact integer value are accepted (`3.0`), as by Lua itself.
    public func int(_ i: Int, name: String) throws(LuaError) -> Int64 {
        guard let n = try optionalInt(i, name: name) else { throw typeError(i, name, expected: "number") }
        return n
    }

    public func optionalInt(_ i: Int, name: String) throws(LuaError) -> Int64? {
        let value = read(i)
        switch value.type {
        case LUA_TNUMBER:
            if value.is_integer != 0 { return value.integer }
            guard let n = Int64(exactly: value.number) else {
                throw argumentError(i, name, "number has no integer representation")
            }
            return n
        case LUA_TNIL, LUA_TNONE:
            return nil
        default:
            throw typeError(i, name, expected: "number")
        }
    }

    /// A number (integer or float) as a Double.
    public func double(_ i: Int, name: String) throws(LuaError) -> Double {
        guard let d = try optionalDouble(i, name: name) else { throw typeError(i, name, expected: "number") }
        return d
    }

    public func optionalDouble(_ i: Int, name: String) throws(LuaError) -> Double? {
        let value = read(i)
        switch value.type {
        case LUA_TNUMBER:
            return value.is_integer != 0 ? Double(value.integer) : value.number
        case LUA_TNIL, LUA_TNONE:
            return nil
        default:
            throw typeError(i, name, expected: "number")
        }
    }

    public func bool(_ i: Int, name: String) throws(LuaError) -> Bool {
        guard let b = try optionalBool(i, name: name) else { throw typeError(i, name, expected: "boolean") }
        return b
    }

    public func optionalBool(_ i: Int, name: String) throws(LuaError) -> Bool? {
        let value = read(i)
        switch value.type {
        case LUA_TBOOLEAN:
            return value.boolean != 0
        case LUA_TNIL, LUA_TNONE:
            return nil
        default:
            throw typeError(i, name, expected: "boolean")
        }
    }

    public func table(_ i: Int, name: String) throws(LuaError) -> LuaTable {
        guard let t = try optionalTable(i, name: name) else { throw typeError(i, name, expected: "table") }
        return t
    }

    public func optionalTable(_ i: Int, name: String) throws(LuaError) -> LuaTable? {
        if isNil(i) { return nil }
        guard lua_type(state, Int32(i)) == LUA_TTABLE else { throw typeError(i, name, expected: "table") }
        guard case .table(let t) = try value(i, name: name) else { return nil }
        return t
    }

    /// A function argument, kept alive as a ``LuaRef`` (call it with ``LuaVM/call(_:_:)``).
    public func function(_ i: Int, name: String) throws(LuaError) -> LuaRef {
        guard let f = try optionalFunction(i, name: name) else { throw typeError(i, name, expected: "function") }
        return f
    }

    public func optionalFunction(_ i: Int, name: String) throws(LuaError) -> LuaRef? {
        if isNil(i) { return nil }
        guard lua_type(state, Int32(i)) == LUA_TFUNCTION else { throw typeError(i, name, expected: "function") }
        return vm.makeRef(state, Int32(i))
    }

    /// Fast path: the Swift object behind a userdata argument made by
    /// ``LuaVM/pushableUserdata(_:type:)``, without converting anything; nil for any other value.
    public func userdata<T: AnyObject>(_ i: Int, as type: T.Type) -> T? {
        guard i >= 1, i <= count, let object = blb_to_object(state, Int32(i)) else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(object).takeUnretainedValue() as? T
    }

    /// Like ``userdata(_:as:)`` but throws "bad argument #i to 'name' (T expected, got table)".
    public func userdata<T: AnyObject>(_ i: Int, as type: T.Type, name: String) throws(LuaError) -> T {
        guard let object = userdata(i, as: type) else { throw typeError(i, name, expected: "\(T.self)") }
        return object
    }

    /// Argument `i` as one C call (type and payload); type LUA_TNONE when missing.
    @inline(__always)
    private func read(_ i: Int) -> blb_scalar {
        var value = blb_scalar()
        if i >= 1 && i <= count {
            blb_read(state, Int32(i), &value)
        } else {
            value.type = LUA_TNONE
        }
        return value
    }

    private func typeError(_ i: Int, _ name: String, expected: String) -> LuaError {
        argumentError(i, name, "\(expected) expected, got \(typeName(i))")
    }

    private func argumentError(_ i: Int, _ name: String, _ detail: String) -> LuaError {
        LuaError.host("bad argument #\(i) to '\(name)' (\(detail))")
    }
}
