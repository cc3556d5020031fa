import BlacklightCore
@testable import Engine
import LuaHost

/// JSON → Lua → JSON, the way a memoized step output or event data reaches a script and comes back:
/// MemoCodec decodes the JSON to a LuaValue, the VM pushes it into Lua and a Lua function hands it
/// back, the VM reads it and MemoCodec encodes it again.
///
/// Lua cannot say everything JSON says (a nil in a table is no entry, an empty array is an empty
/// table, `$`-tagged objects stand for times, NaN, binary strings), so exactness is required only of
/// plain values (``isPlain(_:)``). Every value must be stable after one trip: the second trip gives
/// what the first gave.
final class LuaBridgeCheck {
    private let vm: LuaVM
    private let codec: MemoCodec
    private let identity: LuaRef

    init() throws(FuzzFailure) {
        do {
            vm = try LuaVM()
            let times = TimeType(vm: vm)
            times.install()
            codec = MemoCodec(times: times)
            identity = try vm.compile("return ...", chunkName: "=fuzz")
        } catch {
            throw FuzzFailure("cannot set up the Lua VM: \(error)")
        }
    }

    func check(_ input: UnsafeBufferPointer<UInt8>) throws(FuzzFailure) {
        guard let json = try? JSONValue.parse(bytes: input) else { return }
        guard let once = try roundTrip(json) else { return }
        if Self.isPlain(json), once != json {
            throw FuzzFailure("plain value changed crossing Lua: \(json) came back as \(once)")
        }
        guard let twice = try roundTrip(once) else {
            throw FuzzFailure("\(once), which came out of Lua, cannot go back in")
        }
        guard Self.canonical(twice) == Self.canonical(once) else {
            throw FuzzFailure("not stable: \(json) → \(once) → \(twice)")
        }
    }

    /// The JSON that comes back, or nil when the bridge refuses the value going in (too deep for Lua).
    private func roundTrip(_ json: JSONValue) throws(FuzzFailure) -> JSONValue? {
        vm.resetLimits()
        let results: [LuaValue]
        do {
            results = try vm.call(identity, [codec.decode(json)])
        } catch {
            guard "\(error)".contains("nested too deeply") else { throw FuzzFailure("pushing \(json) failed: \(error)") }
            return nil
        }
        guard results.count == 1 else { throw FuzzFailure("\(results.count) values came back for one") }
        do {
            return try codec.encode(results[0])
        } catch {
            throw FuzzFailure("what Lua was given cannot be stored back: \(json) → \(results[0]): \(error)")
        }
    }

    /// Values that cross to Lua and back unchanged: no null inside a container, no empty array, no
    /// NUL in a string or key, finite numbers, no single-member object with a `$` key (MemoCodec's tags).
    static func isPlain(_ json: JSONValue, nested: Bool = false) -> Bool {
        switch json {
        case .null: return !nested
        case .bool, .int: return true
        case .double(let number): return number.isFinite
        case .string(let text): return !text.utf8.contains(0)
        case .array(let elements):
            return !elements.isEmpty && elements.allSatisfy { isPlain($0, nested: true) }
        case .object(let members):
            if members.count == 1, members.keys.first!.hasPrefix("$") { return false }
            return members.allSatisfy { !$0.key.utf8.contains(0) && isPlain($0.value, nested: true) }
        }
    }

    /// The order of `$lua` pairs follows Lua's table traversal, which is not part of the value.
    static func canonical(_ json: JSONValue) -> JSONValue {
        switch json {
        case .array(let elements): return .array(elements.map(canonical))
        case .object(let members):
            if members.count == 1, case .array(let pairs)? = members["$lua"] {
                return .object(["$lua": .array(pairs.map(canonical).sorted { $0.serialized() < $1.serialized() })])
            }
            return .object(members.mapValues(canonical))
        default: return json
        }
    }
}
