import LuaHost
import PGStore

/// What an extension sees of the VM it is installed into.
public struct HostExtensionContext {
    public let vm: LuaVM
    /// SQL on behalf of the run executing now, through the same savepoint and limits as `db.*`.
    public let database: ScriptDatabase
    /// Makes a `time` value, so extensions return times the same way `db` does.
    public let makeTime: (Double) -> LuaValue
    /// Lets `db.*` return `real[]` columns as the extension's vector values and bind them back.
    public let setVectorBridge: (VectorBridge) -> Void
}

/// Adds globals to every workflow VM (e.g. `vec` and `embed` from the matching layer), keeping the
/// engine free of any one application's functions.
public protocol HostExtension: Sendable {
    func install(into context: HostExtensionContext) throws
}

/// How extensions reach the database for the run executing now: `run` hands the run's connection to `body` inside
/// the executing step's savepoint (outside steps, in a savepoint of its own), so an extension's writes are undone
/// with a failing step and its SQL errors end that step alone, never the batch the run shares with others.
public final class ScriptDatabase {
    private weak var host: ExecutionHost?

    init(host: ExecutionHost) {
        self.host = host
    }

    /// Runs `body` with the run's connection; `function` names the Lua function in errors ("match.store").
    public func run<T>(_ function: String, _ body: (PGConnection) throws -> T) throws -> T {
        guard let host else { throw EngineError.lua("\(function): the workflow VM is closed") }
        do {
            return try host.guarded(function, body)
        } catch let error as PGError {
            throw EngineError(.database, "\(function): \(ExecutionHost.describe(error))")
        }
    }
}
