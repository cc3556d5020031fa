/// Seconds as people read them in messages: "250 ms", "30 s", "1.5 s", "5 min", "2 h".
public enum DurationText {
    public static func format(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "\(seconds) s" }
        if seconds < 1 { return "\(trim(seconds * 1000)) ms" }
        if seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(trim(seconds / 3600)) h" }
        if seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(trim(seconds / 60)) min" }
        return "\(trim(seconds)) s"
    }

    private static func trim(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
        return String(rounded)
    }
}
