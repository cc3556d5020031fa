import BlacklightCore
import Foundation
import LuaHost

/// A point in time as a Lua value: `ctx.now - 30 * 86400` stays a time, binds to SQL as timestamptz,
/// and prints as ISO-8601. Plain numbers would bind as float and fail `$1::date`.
final class TimeValue {
    let seconds: Double
    init(_ seconds: Double) { self.seconds = seconds }


    static func iso(_ seconds: Double) -> String {
        let date = Date(timeIntervalSince1970: seconds)
        return isoFormatter().string(from: date)
    }

    static func parse(_ text: String) -> Double? {
        if let d = isoFormatter().date(from: text) { return d.timeIntervalSince1970 }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let d = plain.date(from: text) { return d.timeIntervalSince1970 }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        return day.date(from: text)?.timeIntervalSince1970
    }

    private static func isoFormatter() -> ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }
}

/// Registers the `time` userdata type in one VM and converts between it and Swift.
struct TimeType {
    static let name = "blacklight.time"
    unowned let vm: LuaVM

    init(vm: LuaVM) {
        self.vm = vm
    }

    func make(_ seconds: Double) -> LuaValue {
        vm.pushableUserdata(TimeValue(seconds), type: Self.name)
    }

    /// A time a script made (`time.unix`, `time.parse`, arithmetic), after the one range check for times from
    /// outside (TimeBounds: years 1 to 9999). Every time in a VM is then one that SQL, memos and ISO text can hold.
    static func checked(_ seconds: Double, _ what: String, make: (Double) -> LuaValue) throws -> LuaValue {
        do {
            return make(try TimeBounds.date(seconds: seconds).timeIntervalSince1970)
        } catch {
            throw EngineError.lua("\(what): \(error.message)")
        }
    }

    func time(of ref: LuaRef) -> TimeValue? {
        vm.object(of: ref) as? TimeValue
    }

    func seconds(_ value: LuaValue) -> Double? {
        switch value {
        case .userdata(let ref): return time(of: ref)?.seconds
        case .int(let i): return Double(i)
        case .number(let d): return d
        case .string(let s): return TimeValue.parse(s)
        default: return nil
        }
    }

    /// The `time` global table and the metatable of time values.
    func install() {
        let make = self.make
        let time = self.time
        func operand(_ v: LuaValue) -> Double? {
            switch v {
            case .userdata(let ref): return time(ref)?.seconds
            default: return nil
            }
        }
        func number(_ v: LuaValue) -> Double? {
            switch v {
            case .int(let i): return Double(i)
            case .number(let d): return d
            default: return nil
            }
        }
        vm.registerUserdataType(
            Self.name,
            methods: [
                "unix": { args in [.number(operand(args[1]) ?? 0)] },
                "iso": { args in [.string(TimeValue.iso(operand(args[1]) ?? 0))] },
            ],
            metamethods: [
                "__add": { args in
                    if let t = operand(args[1]), let n = number(args[2]) { return [try Self.checked(t + n, "time + number", make: make)] }
                    if let n = number(args[1]), let t = operand(args[2]) { return [try Self.checked(t + n, "number + time", make: make)] }
                    throw EngineError.lua("attempt to add a time and a \(args[2].typeName)")
                },
                "__sub": { args in
                    if let t = operand(args[1]), let n = number(args[2]) { return [try Self.checked(t - n, "time - number", make: make)] }
                    if let a = operand(args[1]), let b = operand(args[2]) { return [.number(a - b)] }
                    throw EngineError.lua("attempt to subtract a \(args[2].typeName) from a time")
                },
                "__eq": { args in [.bool(operand(args[1]) == operand(args[2]))] },
                "__lt": { args in
                    guard let a = operand(args[1]), let b = operand(args[2]) else {
                        throw EngineError.lua("attempt to compare a time with a non-time")
                    }
                    return [.bool(a < b)]
                },
                "__le": { args in
                    guard let a = operand(args[1]), let b = operand(args[2]) else {
                        throw EngineError.lua("attempt to compare a time with a non-time")
                    }
                    return [.bool(a <= b)]
                },
                "__tostring": { args in [.string(TimeValue.iso(operand(args[1]) ?? 0))] },
                "__concat": { args in
                    func text(_ v: LuaValue) -> String {
                        if let t = operand(v) { return TimeValue.iso(t) }
                        return v.asString ?? (v.asDouble.map { String($0) } ?? "")
                    }
                    return [.string(text(args[1]) + text(args[2]))]
                },
            ]
        )
        vm.setGlobalTable("time", functions: [
            "unix": { args in
                guard let n = number(args[1]) else { throw EngineError.lua("time.unix: expected a number of seconds") }
                return [try Self.checked(n, "time.unix", make: make)]
            },
            "parse": { args in
                let text = try args.string(1, name: "time.parse")
                guard let s = TimeValue.parse(text) else {
                    throw EngineError.lua("time.parse: '\(text)' is not an ISO-8601 time (e.g. 2026-01-31T12:00:00Z)")
                }
                return [try Self.checked(s, "time.parse", make: make)]
            },
            "is": { args in [.bool(operand(args[1]) != nil)] },
        ])
    }
}
