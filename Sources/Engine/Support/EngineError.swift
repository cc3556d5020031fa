/// The Engine module's one error type: an opaque code, a message written to be read, and context.
public struct EngineError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }
        public var description: String { raw }
        public static let script = Code("script")
        public static let validation = Code("validation")
        public static let lua = Code("lua")
        public static let database = Code("database")
        public static let notFound = Code("not_found")
        public static let badInput = Code("bad_input")
        public static let config = Code("config")
        /// Another worker took over the run (this one's lease expired): nothing more may be written for it here.
        public static let leaseLost = Code("lease_lost")
        public static let timeout = Code("timeout")
        /// The run was cancelled while this worker executed it: no further step starts.
        public static let cancelled = Code("cancelled")
    }

    public let code: Code
    public let message: String
    /// File and line, event field, or SQL statement the error is about.
    public let context: String?

    public init(_ code: Code, _ message: String, context: String? = nil) {
        self.code = code
        self.message = message
        self.context = context
    }

    public var description: String {
        if let context { return "\(message) (\(context))" }
        return message
    }

    static func lua(_ message: String) -> EngineError { EngineError(.lua, message) }
    static func badInput(_ message: String) -> EngineError { EngineError(.badInput, message) }
}
