import Foundation

/// Error texts for the terminal.
enum ErrorText {
    /// The traceback without its first line when that line only repeats the message.
    static func traceback(_ traceback: String?, after message: String) -> String {
        guard var tb = traceback, !tb.isEmpty else { return "" }
        if tb.hasPrefix(message) { tb = String(tb.dropFirst(message.count)).trimmingCharacters(in: .newlines) }
        return tb.isEmpty ? "" : "\n" + tb
    }
}
