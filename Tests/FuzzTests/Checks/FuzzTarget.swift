/// The fuzz targets. `bin/fuzz` runs each under libFuzzer; the corpus replay test runs every file of
/// `Corpus/<name>/` through the same ``FuzzChecker``, so a crash the fuzzer found stays a test.
enum FuzzTarget: String, CaseIterable, Sendable {
    /// JSONValue parsing and serialization.
    case json
    /// An HTTP event body: JSON, then the event validation the API applies, then the SQL parameters.
    case event
    /// CronExpression parsing, `next` and `previous`.
    case cron
    /// DurationParser, DurationText, TimestampText, and times in milliseconds or seconds.
    case time
    /// ISO times: the API's `since`/`until` and Lua's `time.parse` (Foundation's formatters, slower).
    case dates
    /// JSON → Lua → JSON through MemoCodec and the LuaVM value bridge.
    case lua
}

/// An invariant that did not hold for an input. The driver turns it into a crash, so libFuzzer keeps
/// the input; the replay test reports it with the file's name.
struct FuzzFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs one target's checks on inputs. Holds what is too costly to make per input (a Lua VM), so it
/// is used from one thread at a time: one checker per test or per fuzzing process.
final class FuzzChecker {
    let target: FuzzTarget
    private var luaCheck: LuaBridgeCheck?

    init(_ target: FuzzTarget) {
        self.target = target
    }

    func check(_ input: UnsafeBufferPointer<UInt8>) throws(FuzzFailure) {
        switch target {
        case .json: try JSONCheck.check(input)
        case .event: try EventPayloadCheck.check(input)
        case .cron: try CronCheck.check(input)
        case .time: try TimeCheck.check(input)
        case .dates: try TimeCheck.checkDates(input)
        case .lua:
            if luaCheck == nil { luaCheck = try LuaBridgeCheck() }
            try luaCheck!.check(input)
        }
    }

    func check(_ input: [UInt8]) throws(FuzzFailure) {
        try input.withUnsafeBufferPointer { (buffer) throws(FuzzFailure) in try check(buffer) }
    }
}
