import LuaHost

/// The debugger's Lua tools (DebugLua.tools) loaded into one VM, and what an evaluation returned.
struct ConsoleTools {
    /// The outcome of evaluating one chunk.
    enum Result: Equatable {
        /// Printed values, one per line (empty when the chunk returned nothing).
        case values(String, count: Int)
        /// The chunk is not finished: read another line.
        case incomplete
        /// A compile error or a runtime error with its traceback.
        case error(String)

        init(_ results: [LuaValue]) {
            switch results.first?.asString {
            case "ok"?:
                self = .values(results.count > 1 ? results[1].asString ?? "" : "", count: Int(results.count > 2 ? results[2].asInt ?? 0 : 0))
            case "incomplete"?:
                self = .incomplete
            default:
                self = .error(results.count > 1 ? results[1].asString ?? "error" : "error")
            }
        }
    }

    let table: LuaTable
    let pretty: LuaRef
    let console: LuaRef
    let setOverrides: LuaRef
    /// A sandboxed function returning a sandbox environment (tables cannot cross into Swift by
    /// reference, functions can).
    let getEnv: LuaRef

    static func load(into vm: LuaVM) throws -> ConsoleTools {
        let getEnv = try vm.compile("return _ENV", chunkName: "=blacklight.env")
        let chunk = try vm.loadTrusted(DebugLua.wrapped(DebugLua.tools), chunkName: "=blacklight.debug")
        guard case .function(let make)? = chunk.first else { throw EngineError.lua("the debugger tools did not load") }
        let result = try vm.call(make, [.function(getEnv)])
        guard case .table(let t)? = result.first, case .function(let pretty)? = t["pretty"],
              case .function(let console)? = t["console"], case .function(let setOverrides)? = t["set_overrides"] else {
            throw EngineError.lua("the debugger tools are incomplete")
        }
        return ConsoleTools(table: t, pretty: pretty, console: console, setOverrides: setOverrides, getEnv: getEnv)
    }
}
