import LuaHost
import PGStore

/// What an extension sees of the VM it is installed into.
public struct HostExtensionContext {
    public let vm: LuaVM
    /// The connection of the run executing now (its batch transaction), nil at load time.
    public let connection: () -> PGConnection?
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
