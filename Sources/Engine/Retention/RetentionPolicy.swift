import BlacklightCore
import Foundation

/// How long history is kept, as `BLACKLIGHT_RETENTION` and `prune --older-than` say it.
public enum RetentionPolicy {
    /// 30 days: long enough to debug last month's runs, short enough that the tables stay small.
    public static let defaultSeconds: Double = 30 * 86_400
    public static let defaultText = "30d"
    /// How often the pruner of `serve`/`dev` runs a pass.
    public static let interval: Double = 600

    /// `nil` for `off` (no automatic pruning), else the retention in seconds; unset means the default.
    public static func parse(_ text: String?) throws -> Double? {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return defaultSeconds }
        if ["off", "none", "never"].contains(text.lowercased()) { return nil }
        let seconds: Double
        do {
            seconds = try DurationParser.seconds(text)
        } catch {
            throw EngineError(.config, "BLACKLIGHT_RETENTION: \(error.message) (or 'off' to keep everything)")
        }
        guard seconds >= 3600 else {
            throw EngineError(.config,
                              "BLACKLIGHT_RETENTION: '\(text)' is under an hour; runs that just ended would go (or 'off' to keep everything)")
        }
        return seconds
    }
}
