/// One result of a top-k search: a stored id and its cosine score.
public struct ScoredID: Sendable, Equatable, Hashable {
    public var id: Int64
    public var score: Float

    public init(id: Int64, score: Float) {
        self.id = id
        self.score = score
    }

    /// Result order: higher score first, then lower id, so equal scores come back in a stable order.
    @inline(__always)
    func ranksAbove(_ other: ScoredID) -> Bool {
        score > other.score || (score == other.score && id < other.id)
    }
}
