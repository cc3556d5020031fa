import BlacklightCore
import Foundation
import LuaHost
import PGStore

/// Converts between Lua values and bound SQL parameters / result values.
/// Lua → SQL: integers bind as int8, floats as float8, strings as untyped literals (the server infers
/// date, uuid, enum...), times as timestamptz, sequences of scalars as arrays, other tables as jsonb.
/// SQL → Lua: jsonb is decoded into tables, arrays into sequences, timestamps into times.
struct SQLBridge {
    let times: TimeType
    /// Set by an extension that represents `real[]` (embeddings) as vector userdata.
    var vectors: VectorBridge? = nil

    func parameter(_ value: LuaValue, index: Int, function: String) throws -> PGValue {
        switch value {
        case .nil: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .number(let d): return .double(d)
        case .string(let s): return .text(s)
        case .userdata(let ref):
            if let t = times.time(of: ref) { return .timestamp(Date(timeIntervalSince1970: t.seconds)) }
            if let floats = vectors?.fromLua(ref) { return .float4Array(floats) }
            throw EngineError.lua("bad argument #\(index) to '\(function)' (cannot bind a userdata value as a SQL parameter)")
        case .function:
            throw EngineError.lua("bad argument #\(index) to '\(function)' (cannot bind a function as a SQL parameter)")
        case .table(let t):
            if t.hash.isEmpty, !t.array.isEmpty, t.array.allSatisfy(isScalar) {
                return .array(try t.array.map { try parameter($0, index: index, function: function) })
            }
            if t.hash.isEmpty, t.array.isEmpty { return .text("{}") }
            let codec = MemoCodec(times: times, vectors: vectors)
            do {
                return .json(try codec.encode(value).serialized())
            } catch {
                throw EngineError.lua("bad argument #\(index) to '\(function)' (\(error))")
            }
        }
    }

    private func isScalar(_ v: LuaValue) -> Bool {
        switch v {
        case .bool, .int, .number, .string, .nil: return true
        case .userdata(let ref): return times.time(of: ref) != nil
        default: return false
        }
    }

    func value(_ pg: PGValue) -> LuaValue {
        switch pg {
        case .null: return .nil
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .number(d)
        case .text(let s): return .string(s)
        case .bytea(let bytes): return .string(String(decoding: bytes, as: UTF8.self))
        case .timestamp(let date): return times.make(date.timeIntervalSince1970)
        case .json(let raw):
            guard let json = try? JSONValue.parse(raw) else { return .string(raw) }
            return MemoCodec(times: times, vectors: vectors).decode(json)
        case .array(let items): return .table(LuaTable(array: items.map(value), hash: []))
        case .float4Array(let floats):
            if let vectors { return vectors.toLua(floats) }
            return .table(LuaTable(array: floats.map { .number(Double($0)) }, hash: []))
        }
    }

    func row(_ row: PGRow) -> LuaValue {
        var hash: [(key: LuaValue, value: LuaValue)] = []
        hash.reserveCapacity(row.columns.count)
        for (i, name) in row.columns.enumerated() {
            let v = value(row.values[i])
            if case .nil = v { continue }
            hash.append((key: .string(name), value: v))
        }
        return .table(LuaTable(array: [], hash: hash))
    }
}

/// How `real[]` values cross into Lua and back when an extension provides vector userdata.
public struct VectorBridge {
    public var toLua: ([Float]) -> LuaValue
    public var fromLua: (LuaRef) -> [Float]?

    public init(toLua: @escaping ([Float]) -> LuaValue, fromLua: @escaping (LuaRef) -> [Float]?) {
        self.toLua = toLua
        self.fromLua = fromLua
    }
}
