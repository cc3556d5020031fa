/// One result of a top-k search: a stored id and its cosine score. Results come best first: higher score,
/// then lower id, so equal scores come back in a stable order.
public struct ScoredID: Sendable, Equatable, Hashable {
    public var id: Int64
    public var score: Float

    public init(id: Int64, score: Float) {
        self.id = id
        self.score = score
    }
}
