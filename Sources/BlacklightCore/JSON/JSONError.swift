/// Why a text is not valid JSON, and where.
public struct JSONError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A sentence naming the problem and its byte offset, e.g. `unexpected character 'x' at offset 12`.
    public let message: String
    /// The byte offset (into the UTF-8 input) where the problem was found, when there is one.
    public let offset: Int?

    public init(message: String, offset: Int?) {
        self.message = message
        self.offset = offset
    }

    public var description: String { message }
}
