extension LuaValue {
    /// The string, or nil for any other kind of value (numbers are not converted).
    public var asString: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer; a float with an exact integer value converts too (`3.0` → 3).
    public var asInt: Int64? {
        switch self {
        case .int(let i): return i
        case .number(let d): return Int64(exactly: d)
        default: return nil
        }
    }

    /// The number as a Double, from either an integer or a float.
    public var asDouble: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }

    /// The boolean, or nil for any other kind of value (no Lua truthiness: use ``isTruthy``).
    public var asBool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var asTable: LuaTable? {
        if case .table(let t) = self { return t }
        return nil
    }

    public var isNil: Bool {
        if case .nil = self { return true }
        return false
    }

    /// Lua's truth: everything except nil and false.
    public var isTruthy: Bool {
        switch self {
        case .nil, .bool(false): return false
        default: return true
        }
    }

    /// The Lua type name: "nil", "boolean", "number", "string", "table", "function" or "userdata".
    public var typeName: String {
        switch self {
        case .nil: return "nil"
        case .bool: return "boolean"
        case .int, .number: return "number"
        case .string: return "string"
        case .table: return "table"
        case .function: return "function"
        case .userdata: return "userdata"
        }
    }
}
