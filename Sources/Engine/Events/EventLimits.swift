/// The limits of an event, checked wherever one enters: the event API, `POST /api/events`, `blacklight send`
/// and `import`, `events.send`/`step.send_event` in Lua, and `cron.schedule`. The defaults are what the server
/// and the CLI use.
public struct EventLimits: Sendable, Equatable {
    /// UTF-8 bytes of `name`. Names are short paths (`job-match/generate-candidate`); they are indexed and
    /// compared on every trigger lookup.
    public var maxNameBytes = 256
    /// UTF-8 bytes of the client's `id`. It is a unique key (`blacklight.event_ids`), and PostgreSQL refuses a
    /// b-tree entry over about 2,700 bytes: a 3 KB id used to fail the whole insert with a 500.
    public var maxIDBytes = 256
    /// Serialized size of one event (its data, name and id).
    public var maxEventBytes = 512 * 1024
    /// Nesting of `data` (an object in an array in an object is 3 levels). A run receives the event as a Lua
    /// table inside `ctx`, and Lua values nest at most 100 levels: deeper data would fail every run it starts.
    public var maxDataDepth = 64
    /// Events in one request or one call.
    public var maxEvents = 5_000
    /// A whole HTTP request body; past it the request is refused before it is parsed.
    public var maxRequestBytes = 64 * 1024 * 1024

    public init() {}
}
