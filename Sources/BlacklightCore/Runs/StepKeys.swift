/// Gives each `step.run` call of one execution a stable memo key.
///
/// Like Inngest, a step id used again in the same execution (a step inside a loop) gets a counter
/// suffix: `fetch`, `fetch:1`, `fetch:2`. Because a re-execution replays the same calls in the same
/// order, it derives the same keys and finds the memos of the earlier execution. Create a fresh
/// value for every execution.
public struct StepKeys: Sendable {
    private var uses: [String: Int] = [:]
    private var issued: Set<String> = []

    public init() {}

    /// The memo key for the next use of `id`.
    public mutating func key(for id: String) -> String {
        var count = uses[id, default: 0]
        var key = count == 0 ? id : "\(id):\(count)"
        // A script may itself use an id that looks generated ("fetch:1"); skipping keys already
        // issued keeps every key of the execution distinct, and the order stays deterministic.
        while issued.contains(key) {
            count += 1
            key = "\(id):\(count)"
        }
        uses[id] = count + 1
        issued.insert(key)
        return key
    }
}
