import BlacklightCore
import Foundation
import PGStore

/// A stored step of an http run, as the runner reads it, and what the SDK is sent for it.
///
/// Keys are the SDK's step ids before hashing (`fetch`, `fetch:1` for the second use, as `step_lib` counts them and as
/// Lua step keys are suffixed), so the SDK's hashed id is always `SHA1(key)`: the timeline, the REPL and reruns use
/// the names people wrote. An SDK whose hash does not follow that rule gets its hashed id stored as `#<hash>`.
struct HTTPStep {
    var key: String
    var kind: String
    var status: String
    var output: JSONValue?
    var error: JSONValue?
    var wakeAt: Date?
    var seq: Int
    var attempts: Int

    /// The id the SDK knows the step by.
    var hashedID: String { Self.hashedID(key) }

    static func hashedID(_ key: String) -> String {
        key.hasPrefix("#") ? String(key.dropFirst()) : InngestSignature.stepID(key)
    }

    /// The memo the SDK expects (step_lib `StepMemos.from_raw`): `{"data": …}` or `{"error": …}` for `step.run` and
    /// `step.invoke`, the event or null for `wait_for_event`, null for a sleep. Nil when the step has no memo yet
    /// (parked, or a failed attempt the SDK must run again).
    var memo: JSONValue? {
        switch status {
        case "completed":
            switch kind {
            case "sleep": return .null
            case "wait": return output ?? .null
            case "invoke":
                guard let out = output else { return .object(["data": .null]) }
                if out["ok"]?.boolValue == true { return .object(["data": out["output"] ?? .null]) }
                let error = out["error"] ?? .null
                let message = error["message"]?.stringValue ?? "the invoked run ended \(out["status"]?.stringValue ?? "without a result")"
                return .object(["error": .object(["name": .string("InvokeError"), "message": .string(message)])])
            default: return .object(["data": output ?? .null])
            }
        case "failed":
            // Only a step that failed for good (StepFailed) is memoized; the SDK raises it in the function.
            guard var error = error?.objectValue, error["final"]?.boolValue == true else { return nil }
            error["final"] = nil
            if error["name"] == nil { error["name"] = .string("Error") }
            if error["message"] == nil { error["message"] = .string("the step failed") }
            return .object(["error": .object(error)])
        default:
            return nil
        }
    }

    static func load(run: String, conn: PGConnection) throws -> [HTTPStep] {
        let rows = try conn.query("""
            SELECT key, kind, status, output, error, wake_at, seq, attempts FROM blacklight.steps WHERE run_id = $1 ORDER BY seq, key
            """, [.text(run)]).rows
        return rows.map { row in
            HTTPStep(key: row["key"].stringValue ?? "", kind: row["kind"].stringValue ?? "run", status: row["status"].stringValue ?? "",
                     output: row["output"].jsonText.flatMap { try? JSONValue.parse($0) },
                     error: row["error"].jsonText.flatMap { try? JSONValue.parse($0) },
                     wakeAt: row["wake_at"].dateValue, seq: Int(row["seq"].intValue ?? 0), attempts: Int(row["attempts"].intValue ?? 1))
        }
    }
}

/// The body of a call to the app (server_lib/execution_request.py `ServerRequest`).
enum SDKRequest {
    static func body(claim: ClaimedRun, events: [JSONValue], steps: [HTTPStep]) -> JSONValue {
        var memos: [String: JSONValue] = [:]
        var stack: [JSONValue] = []
        for step in steps {
            guard let memo = step.memo else { continue }
            memos[step.hashedID] = memo
            stack.append(.string(step.hashedID))
        }
        let list = events.map(sdkEvent)
        return .object([
            "event": list.first ?? sdkEvent(claim.event),
            "events": .array(list),
            "steps": .object(memos),
            "ctx": .object([
                "run_id": .string(claim.id),
                "fn_id": .string(claim.functionID),
                "step_id": .string("step"),
                // The SDK counts attempts from 0; Blacklight from 1.
                "attempt": .int(Int64(claim.attempt - 1)),
                "max_attempts": .int(Int64(claim.maxAttempts)),
                "disable_immediate_execution": .bool(false),
                "use_api": .bool(false),
                "stack": .object(["stack": .array(stack), "current": .int(Int64(stack.count))]),
            ]),
            "use_api": .bool(false),
            "version": .int(1),
        ])
    }

    /// An event as the SDK reads it (`Event`: name, data object, id, ts in ms). A cron run has no event: Inngest
    /// sends `inngest/scheduled.timer`.
    static func sdkEvent(_ event: JSONValue) -> JSONValue {
        var o = event.objectValue ?? [:]
        if o["name"]?.stringValue == nil {
            o["name"] = .string("inngest/scheduled.timer")
            o["ts"] = .int(Int64(Date().timeIntervalSince1970 * 1000))
        }
        if o["data"]?.objectValue == nil { o["data"] = .object([:]) }
        if o["id"] == nil { o["id"] = .string("") }
        return .object(o)
    }
}
