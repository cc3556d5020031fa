/// A Lua value as plain Swift data: what crosses the bridge in both directions.
///
/// Integers and floats stay distinct (`125` is `.int`, `125.0` is `.number`), as in Lua 5.4.
/// Functions and userdata cannot be copied out of Lua, so they travel as ``LuaRef``s that keep
/// the Lua object alive.
public enum LuaValue: Sendable, Hashable {
    case `nil`
    case bool(Bool)
    case int(Int64)
    case number(Double)
    case string(String)
    case table(LuaTable)
    /// A Lua function, kept alive in the registry of the VM it came from.
    case function(LuaRef)
    /// A full userdata (for example a Swift object made with ``LuaVM/pushableUserdata(_:type:)``).
    case userdata(LuaRef)
}

extension LuaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An array literal becomes a table with only a sequence part.
    public init(arrayLiteral elements: LuaValue...) { self = .table(LuaTable(array: elements)) }
    /// A dictionary literal becomes a table with only a hash part, in the literal's order.
    public init(dictionaryLiteral elements: (LuaValue, LuaValue)...) {
        self = .table(LuaTable(hash: elements.map { (key: $0.0, value: $0.1) }))
    }
}
