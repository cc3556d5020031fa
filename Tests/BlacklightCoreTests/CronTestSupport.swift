import Foundation
import Testing

/// An instant from an ISO 8601 text with its offset, e.g. `2024-03-10T02:30:00-05:00`.
func instant(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Date {
    try #require(try? Date(text, strategy: .iso8601), "not an ISO 8601 date: \(text)", sourceLocation: sourceLocation)
}

/// The ISO 8601 text of `date` in `zone`, so a failing expectation shows local wall time.
func local(_ date: Date?, _ zone: String = "UTC") -> String? {
    guard let date, let timeZone = TimeZone(identifier: zone) else { return nil }
    var style = Date.ISO8601FormatStyle(timeZone: timeZone)
    style = style.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .colon)
    return date.formatted(style)
}
