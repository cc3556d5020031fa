import Testing
@testable import VectorScoring

@Suite("BatchScoring")
struct BatchScoringTests {
    @Test("cosineMatrix matches pairwise cosines (rows = a, columns = b) on every kernel level", arguments: KernelLevel.allCases)
    func matrix(level: KernelLevel) throws {
        let a = TestData.random(70, dimension: 33, seed: 41)
        let b = TestData.random(21, dimension: 33, seed: 42) + [[Float](repeating: 0, count: 33)]
        let m = try BatchScoring.cosineMatrix(a.map(Vector.init), b.map(Vector.init), level: level)
        #expect(m.count == 70)
        #expect(m.allSatisfy { $0.count == 22 })
        for i in a.indices {
            for j in b.indices { #expect(abs(Double(m[i][j]) - TestData.naiveCosine(a[i], b[j])) < 1e-5) }
        }
    }

    @Test("empty inputs give empty rows")
    func empty() throws {
        #expect(try BatchScoring.cosineMatrix([], []) == [])
        #expect(try BatchScoring.cosineMatrix([Vector([1, 0])], []) == [[]])
        #expect(try BatchScoring.cosineMatrix([], [Vector([1, 0])]) == [])
    }
}
