import BlacklightCore
import Foundation
import PGStore

/// Which runs a list, a bulk cancel or a bulk replay takes: the filters of `GET /api/runs`, checked once here
/// for the REST API, the dashboard and the CLI alike.
public struct RunFilter: Sendable, Equatable {
    public var function: String?
    /// Any of these statuses (nil: any status).
    public var statuses: [RunStatus]?
    /// Runs started by an event with this name.
    public var eventName: String?
    public var eventID: String?
    /// Runs created at or after this time.
    public var since: Date?
    /// Runs created before this time.
    public var until: Date?

    public init(function: String? = nil, statuses: [RunStatus]? = nil, eventName: String? = nil, eventID: String? = nil,
                since: Date? = nil, until: Date? = nil) {
        self.function = function
        self.statuses = statuses
        self.eventName = eventName
        self.eventID = eventID
        self.since = since
        self.until = until
    }

    /// True when nothing narrows the runs: a bulk action refuses it (every run, by a slip of the form).
    public var isEmpty: Bool {
        function == nil && statuses == nil && eventName == nil && eventID == nil && since == nil && until == nil
    }

    /// Reads the filters from text as they come in a query string, a JSON body or CLI options. An empty text is
    /// no filter (what an unset form field sends). `status` is one status or several separated by commas.
    public static func parse(function: String? = nil, status: String? = nil, event: String? = nil, eventID: String? = nil,
                             since: String? = nil, until: String? = nil) throws -> RunFilter {
        func given(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
        var f = RunFilter(function: given(function), eventName: given(event), eventID: given(eventID))
        if let status = given(status) {
            f.statuses = try status.split(separator: ",", omittingEmptySubsequences: false).map { part in
                let name = part.trimmingCharacters(in: .whitespaces)
                guard let s = RunStatus(rawValue: name) else {
                    throw EngineError(.badInput, "unknown status '\(name)': use one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))",
                                      context: "status")
                }
                return s
            }
        }
        f.since = try given(since).map { try time($0, field: "since") }
        f.until = try given(until).map { try time($0, field: "until") }
        if let since = f.since, let until = f.until, since >= until {
            throw EngineError(.badInput, "'since' must be before 'until'", context: "since")
        }
        return f
    }

    /// An ISO 8601 time, what an `<input type="datetime-local">` sends (read as UTC, like the dashboard shows
    /// times), a date alone (`2026-11-01`, midnight UTC), or milliseconds since 1970; in years 1 to 9999
    /// (TimeBounds: `nan` or a year past 9999 is refused, not read as 1970 or handed to the database encoder).
    public static func time(_ text: String, field: String) throws -> Date {
        func bounded(_ date: Date) throws -> Date {
            do {
                return try TimeBounds.date(seconds: date.timeIntervalSince1970)
            } catch {
                throw EngineError(.badInput, "'\(field)': \(error.message)", context: field)
            }
        }
        if let ms = Double(text) {
            do {
                return try TimeBounds.date(millis: ms)
            } catch {
                throw EngineError(.badInput, "'\(field)': \(error.message)", context: field)
            }
        }
        // Every form read below is ASCII, and Foundation's DateFormatter traps ("Incorrect range CFRange") on some
        // other text, such as `2-1-\u{36B}\u{FFFD}…:20:0Z`: one request would stop the server (found by fuzzing).
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else {
            throw EngineError(.badInput, "'\(field)' must be an ISO 8601 time (2026-01-31T12:00:00Z), a date (2026-01-31) or milliseconds since 1970",
                              context: field)
        }
        let iso = ISO8601DateFormatter()
        if let d = iso.date(from: text) { return try bounded(d) }
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = iso.date(from: text) { return try bounded(d) }
        let local = DateFormatter()
        local.locale = Locale(identifier: "en_US_POSIX")
        local.timeZone = TimeZone(identifier: "UTC")
        for format in ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd"] {
            local.dateFormat = format
            if let d = local.date(from: text) { return try bounded(d) }
        }
        throw EngineError(.badInput, "'\(field)' must be an ISO 8601 time (2026-01-31T12:00:00Z), a date (2026-01-31) or milliseconds since 1970",
                          context: field)
    }

    /// The condition on `blacklight.runs r` with the filter bound as `$1` to `$6` (`binds`): one text for every
    /// filter, so nothing from outside ever reaches SQL text. Each statement is planned for its values
    /// (unnamed statements, custom plans), so an absent filter costs nothing.
    static let condition = """
        ($1::text IS NULL OR r.function_id = $1) AND ($2::text[] IS NULL OR r.status = ANY ($2::text[]))
        AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM blacklight.events e WHERE e.id = r.event_id AND e.name = $3))
        AND ($4::text IS NULL OR r.event_id = $4)
        AND ($5::timestamptz IS NULL OR r.created_at >= $5) AND ($6::timestamptz IS NULL OR r.created_at < $6)
        """

    var binds: [PGValue] {
        [
            function.map { .text($0) } ?? .null, statuses.map { .array($0.map { .text($0.rawValue) }) } ?? .null,
            eventName.map { .text($0) } ?? .null, eventID.map { .text($0) } ?? .null,
            since.map { .timestamp($0) } ?? .null, until.map { .timestamp($0) } ?? .null,
        ]
    }
}
