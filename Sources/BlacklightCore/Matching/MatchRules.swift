/// Weights and rules of match scoring. The defaults are the README's formula; ops change them in
/// `plugins/matching.lua`, which the workflows pass to the native scorer.
public struct MatchRules: Sendable, Equatable {
    public var skillWeight = 0.35
    public var semanticWeight = 0.25
    public var experienceWeight = 0.15
    public var locationWeight = 0.15
    public var salaryWeight = 0.10
    /// A match is stored at this score or above...
    public var storeThreshold = 50.0
    /// ...and recommended at this score or above.
    public var recommendThreshold = 70.0
    /// Component score when the data to judge it is missing.
    public var unknownScore = 50.0
    public var remoteScore = 100.0
    public var relocateScore = 70.0
    public var otherLocationScore = 20.0
    /// Points lost per 1 % that the expected salary exceeds the job's top of range.
    public var salaryPenaltyPerPercent = 2.0

    public init() {}
}
