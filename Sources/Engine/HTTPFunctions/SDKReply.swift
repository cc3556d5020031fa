import BlacklightCore
import Foundation

/// What an app's answer means (comm_lib/models.py `CommResponse.from_call_result`): 200 is the function's result,
/// 206 a list of step operations, any other status an error of the function (with `x-inngest-no-retry: true` when it
/// must not be retried, `retry-after` when it says when).
enum SDKReply {
    case finished(JSONValue)
    case ops([SDKOp])
    case failed(error: JSONValue, retry: Bool, retryAt: Date?)

    /// `signingKey`: when set, the answer must carry a valid `x-inngest-signature` over its body.
    static func read(_ reply: AppClient.Reply, signingKey: String?, url: String) -> SDKReply {
        if reply.status == 401 {
            return .failed(error: .object([
                "name": "SignatureError",
                "message": .string("\(url) refused the request (401): the app did not accept its x-inngest-signature. Check that "
                    + "the app and Blacklight use the same INNGEST_SIGNING_KEY"),
            ]), retry: true, retryAt: nil)
        }
        if let signingKey, reply.headers["x-inngest-sdk-handled"] != nil || (200..<300).contains(reply.status),
           !InngestSignature.verify(reply.body, header: reply.headers["x-inngest-signature"], key: signingKey) {
            return .failed(error: .object([
                "name": "SignatureError",
                "message": .string("the answer of \(url) is not signed with this server's signing key (x-inngest-signature "
                    + "missing or wrong): refused. Check that the app and Blacklight use the same INNGEST_SIGNING_KEY"),
            ]), retry: true, retryAt: nil)
        }
        let text = String(decoding: reply.body, as: UTF8.self)
        let json: JSONValue? = reply.body.isEmpty ? .null : try? JSONValue.parse(text)
        switch reply.status {
        case 200:
            guard let json else { return badBody(reply, url: url) }
            return .finished(json)
        case 206:
            guard let list = json?.arrayValue else { return badBody(reply, url: url) }
            var ops: [SDKOp] = []
            for item in list {
                guard let op = SDKOp(item) else { return badBody(reply, url: url) }
                ops.append(op)
            }
            return .ops(ops)
        default:
            let retryAt = reply.headers["retry-after"].flatMap(retryDate)
            let noRetry = reply.headers["x-inngest-no-retry"] == "true"
            var error: [String: JSONValue] = [:]
            if case .object(let o)? = json, o["message"] != nil {
                error = o
            } else {
                error["message"] = .string("\(url) answered \(reply.status): \(text.prefix(300))")
            }
            error["status"] = .int(Int64(reply.status))
            return .failed(error: .object(error), retry: !noRetry, retryAt: retryAt)
        }
    }

    private static func badBody(_ reply: AppClient.Reply, url: String) -> SDKReply {
        .failed(error: .object([
            "message": .string("\(url) answered \(reply.status) with a body that is not what the Inngest protocol expects: "
                + String(decoding: reply.body.prefix(300), as: UTF8.self)),
        ]), retry: true, retryAt: nil)
    }

    /// `Retry-After` as seconds or as a time (the SDK sends ISO-8601, HTTP allows an HTTP date).
    static func retryDate(_ text: String) -> Date? {
        if let seconds = Double(text.trimmingCharacters(in: .whitespaces)) { return Date().addingTimeInterval(max(0, seconds)) }
        return isoDate(text)
    }

    static func isoDate(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)
    }
}

/// One step operation of a 206 answer (step_lib `StepInfo` plus `data`/`error`).
struct SDKOp {
    enum Code: String {
        case stepRun = "StepRun", stepError = "StepError", stepFailed = "StepFailed", planned = "StepPlanned"
        case sleep = "Sleep", waitForEvent = "WaitForEvent", invoke = "InvokeFunction"
    }

    var raw: JSONValue
    var id: String
    var op: String
    var code: Code?

    init?(_ json: JSONValue) {
        guard let id = json["id"]?.stringValue, !id.isEmpty, let op = json["op"]?.stringValue else { return nil }
        raw = json
        self.id = id
        self.op = op
        code = Code(rawValue: op)
    }

    var name: String? { raw["name"]?.stringValue }
    var opts: JSONValue? { raw["opts"] }
    var displayName: String { raw["displayName"]?.stringValue ?? raw["userland"]?["id"]?.stringValue ?? id }

    /// The step's key: the id the code gave with the SDK's repeat suffix, when its SHA-1 is the SDK's id (always, for
    /// the Python SDK), else the hashed id itself (see HTTPStep).
    var key: String {
        if let user = raw["userland"]?["id"]?.stringValue {
            let index = raw["userland"]?["index"]?.intValue ?? 0
            let candidate = index > 0 ? "\(user):\(index)" : user
            if InngestSignature.stepID(candidate) == id { return candidate }
        }
        if let display = raw["displayName"]?.stringValue, InngestSignature.stepID(display) == id { return display }
        return "#" + id
    }
}
