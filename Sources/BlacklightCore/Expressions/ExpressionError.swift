/// Why an expression did not parse, and where: `column` is 1-based, counted in characters.
public struct ExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var column: Int
    public var message: String

    public init(column: Int, _ message: String) {
        self.column = column
        self.message = message
    }

    public var description: String { "column \(column): \(message)" }
}
