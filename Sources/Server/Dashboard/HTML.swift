import BlacklightCore
import Foundation

/// Escaping for server-rendered pages: every value that came from the database or a request goes
/// through `escape` (text and attribute values alike).
enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A value for a query string or path segment.
    static func component(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }

    static func json(_ v: JSONValue?) -> String { escape(pretty(v ?? .null)) }

    /// Indented JSON for people (the API keeps the compact form).
    static func pretty(_ v: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch v {
        case .array(let a) where !a.isEmpty:
            return "[\n" + a.map { inner + pretty($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let o) where !o.isEmpty:
            return "{\n" + o.keys.sorted().map { k in inner + JSONValue.string(k).serialized() + ": " + pretty(o[k]!, indent: inner) }
                .joined(separator: ",\n") + "\n" + indent + "}"
        default:
            return v.serialized()
        }
    }

    static func status(_ s: String) -> String {
        "<span class=\"status s-\(escape(s))\">\(escape(s))</span>"
    }

    /// Why a run that has not ended is not executing (`waiting_for` of the run queries), next to its status.
    static func waitingFor(_ v: JSONValue?) -> String {
        guard let reason = v?.stringValue else { return "" }
        let why: String
        switch reason {
        case "paused": why = "its function is paused; it starts when the function resumes"
        case "batching": why = "its batch is open: it starts when the batch is full or its timeout passes (batch_events)"
        case "debounced": why = "debounced: it starts once no new event of its key came for the period (debounce)"
        case "throttled": why = "throttled: it starts at its slot, limit runs per period (throttle)"
        case "spare capacity": why = "replayed in bulk: it starts when the workers have room beside new events"
        default: why = reason
        }
        return " <span class=\"waiting-for\" title=\"\(escape(why))\">\(escape(reason))</span>"
    }

    /// "2026-11-29T09:32:39.123+00:00" → "2026-11-29 09:32:39" (UTC), for tables.
    static func time(_ v: JSONValue?) -> String {
        guard let s = v?.stringValue else { return "" }
        return escape(String(s.replacingOccurrences(of: "T", with: " ").prefix(19)))
    }

    static func duration(_ ms: Double?) -> String {
        guard let ms else { return "" }
        if ms < 1 { return String(format: "%.2f ms", ms) }
        if ms < 1000 { return String(format: "%.0f ms", ms) }
        if ms < 60_000 { return String(format: "%.2f s", ms / 1000) }
        return String(format: "%.1f min", ms / 60_000)
    }
}
