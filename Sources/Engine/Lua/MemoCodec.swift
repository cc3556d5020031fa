import BlacklightCore
import Foundation
import LuaHost

/// Step outputs as typed JSON, so a replayed step returns exactly what the first execution returned:
/// integers stay integers (`125.0` stays a float because JSONValue keeps the lexical form), nil stays
/// nil, and tables that JSON cannot say plainly (sparse arrays, non-string keys) are tagged.
///
/// Encoding: nil → null; sequence tables → arrays; string-keyed tables → objects; an empty table → {};
/// any other table → {"$lua": [[key, value], ...]}; a time → {"$time": "ISO-8601"}; a float that JSON
/// cannot hold (nan, ±inf) → {"$num": "nan" | "inf" | "-inf"}; a vector → {"$vec": [floats]}; a string with
/// a NUL character (which jsonb cannot hold) → {"$bin": "base64"}.
struct MemoCodec {
    let times: TimeType?
    var vectors: VectorBridge? = nil

    struct EncodeError: Error, CustomStringConvertible {
        let description: String
    }

    func encode(_ value: LuaValue, depth: Int = 0) throws -> JSONValue {
        if depth > 100 { throw EncodeError(description: "value is nested more than 100 levels deep") }
        switch value {
        case .nil: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .number(let d):
            if d.isNaN { return .object(["$num": .string("nan")]) }
            if d.isInfinite { return .object(["$num": .string(d > 0 ? "inf" : "-inf")]) }
            return .double(d)
        case .string(let s):
            // jsonb cannot hold NUL (\u0000); Lua strings can. Such a string is stored as base64 and comes back whole.
            if s.utf8.contains(0) { return .object(["$bin": .string(Data(s.utf8).base64EncodedString())]) }
            return .string(s)
        case .table(let t): return try encodeTable(t, depth: depth)
        case .function: throw EncodeError(description: "a function cannot be stored as a step output")
        case .userdata(let ref):
            if let times, let time = times.time(of: ref) {
                return .object(["$time": .string(TimeValue.iso(time.seconds))])
            }
            if let floats = vectors?.fromLua(ref) {
                return .object(["$vec": .array(floats.map { .double(Double($0)) })])
            }
            throw EncodeError(description: "a userdata value cannot be stored as a step output")
        }
    }

    private func encodeTable(_ t: LuaTable, depth: Int) throws -> JSONValue {
        if t.hash.isEmpty {
            if t.array.isEmpty { return .object([:]) }
            return .array(try t.array.map { try encode($0, depth: depth + 1) })
        }
        if t.array.isEmpty, t.hash.allSatisfy({ if case .string = $0.key { return true } else { return false } }) {
            var object: [String: JSONValue] = [:]
            object.reserveCapacity(t.hash.count)
            for (key, value) in t.hash {
                if case .string(let k) = key {
                    if k.utf8.contains(0) { return try encodePairs(t, depth: depth) }
                    object[k] = try encode(value, depth: depth + 1)
                }
            }
            return .object(object)
        }
        return try encodePairs(t, depth: depth)
    }

    private func encodePairs(_ t: LuaTable, depth: Int) throws -> JSONValue {
        var pairs: [JSONValue] = []
        for (i, value) in t.array.enumerated() {
            pairs.append(.array([.int(Int64(i + 1)), try encode(value, depth: depth + 1)]))
        }
        for (key, value) in t.hash {
            pairs.append(.array([try encode(key, depth: depth + 1), try encode(value, depth: depth + 1)]))
        }
        return .object(["$lua": .array(pairs)])
    }

    func decode(_ json: JSONValue) -> LuaValue {
        switch json {
        case .null: return .nil
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .number(d)
        case .string(let s): return .string(s)
        case .array(let items): return .table(LuaTable(array: items.map(decode), hash: []))
        case .object(let members):
            if members.count == 1 {
                if case .array(let pairs)? = members["$lua"] {
                    return decodePairs(pairs)
                }
                if case .string(let iso)? = members["$time"], let times, let seconds = TimeValue.parse(iso) {
                    return times.make(seconds)
                }
                if case .array(let items)? = members["$vec"], let vectors {
                    return vectors.toLua(items.map { Float($0.doubleValue ?? 0) })
                }
                if case .string(let b64)? = members["$bin"], let data = Data(base64Encoded: b64) {
                    return .string(String(decoding: data, as: UTF8.self))
                }
                if case .string(let n)? = members["$num"] {
                    switch n {
                    case "nan": return .number(.nan)
                    case "inf": return .number(.infinity)
                    case "-inf": return .number(-.infinity)
                    default: break
                    }
                }
            }
            var hash: [(key: LuaValue, value: LuaValue)] = []
            hash.reserveCapacity(members.count)
            for (k, v) in members.sorted(by: { $0.key < $1.key }) {
                hash.append((key: .string(k), value: decode(v)))
            }
            return .table(LuaTable(array: [], hash: hash))
        }
    }

    private func decodePairs(_ pairs: [JSONValue]) -> LuaValue {
        var array: [LuaValue] = []
        var hash: [(key: LuaValue, value: LuaValue)] = []
        for pair in pairs {
            guard case .array(let kv) = pair, kv.count == 2 else { continue }
            let key = decode(kv[0])
            let value = decode(kv[1])
            if case .int(let i) = key, i == Int64(array.count + 1), hash.isEmpty {
                array.append(value)
            } else {
                hash.append((key: key, value: value))
            }
        }
        return .table(LuaTable(array: array, hash: hash))
    }
}
