/// An error from Lua or from the bridge, with the text a person needs to find the cause.
///
/// `message` reads like Lua's own (`scripts/x.lua:12: attempt to index a nil value`); `traceback`
/// is `luaL_traceback` text starting with "stack traceback:" when one could be taken.
public struct LuaError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Hashable {
        /// The source did not compile.
        case syntax
        /// An error raised while running Lua code (including errors thrown by host functions).
        case runtime
        /// The instruction budget ran out (see ``LuaVM/setInstructionBudget(_:)``).
        case instructionLimit
        /// The memory cap was reached.
        case memoryLimit
        /// The wall-clock limit passed (see ``LuaVM/setTimeLimit(_:)``).
        case timeLimit
        /// The host side failed: a value that cannot cross the bridge, misuse of the API.
        case host
    }

    public let kind: Kind
    public let message: String
    public let traceback: String?
    /// The raw error object when it was not a string (e.g. a table thrown by `error({...})`).
    public let value: LuaValue?

    public init(kind: Kind, message: String, traceback: String? = nil, value: LuaValue? = nil) {
        self.kind = kind
        self.message = message
        self.traceback = traceback
        self.value = value
    }

    /// A host-side error; thrown from a ``LuaFunction`` it becomes a Lua error at the caller's line.
    public static func host(_ message: String) -> LuaError { LuaError(kind: .host, message: message) }

    /// The message followed by the traceback, if any.
    public var description: String {
        guard let traceback else { return message }
        return message + "\n" + traceback
    }
}
