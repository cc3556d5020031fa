import Testing
@testable import VectorScoring

@Suite("VectorMath")
struct VectorMathTests {
    @Test("dot matches a double-precision reference for lengths around the SIMD widths", arguments: [0, 1, 7, 15, 16, 17, 33, 384, 1_000])
    func dot(length: Int) throws {
        let v = TestData.random(2, dimension: length, seed: UInt64(length))
        let got = try VectorMath.dot(Vector(v[0]), Vector(v[1]))
        #expect(abs(Double(got) - TestData.naiveDot(v[0], v[1])) < 1e-4)
    }

    @Test("cosine matches the reference, is 1 for a vector with itself and 0 with a zero vector")
    func cosine() throws {
        let v = TestData.random(2, dimension: 384, seed: 3)
        let a = Vector(v[0]), b = Vector(v[1])
        #expect(abs(Double(try VectorMath.cosine(a, b)) - TestData.naiveCosine(v[0], v[1])) < 1e-5)
        #expect(abs(try VectorMath.cosine(a, a) - 1) < 1e-6)
        #expect(try VectorMath.cosine(a, Vector([Float](repeating: 0, count: 384))) == 0)
        #expect(abs(try VectorMath.cosine(a, Vector(v[0].map { -3 * $0 })) + 1) < 1e-6)
    }

    @Test("normalized has norm 1 and keeps the direction; a zero vector stays zero")
    func normalized() throws {
        let v = Vector([3, 4])
        #expect(v.norm == 5)
        #expect(v.normalized() == Vector([0.6, 0.8]))
        #expect(Vector([0, 0, 0]).normalized() == Vector([0, 0, 0]))
        #expect(Vector([.nan, 1]).normalized() == Vector([0, 0]))
        #expect(Vector([1, 2, 3]).dimension == 3)
    }

    @Test("dot of buffers")
    func buffers() throws {
        let a: [Float] = [1, 2, 3], b: [Float] = [4, 5, 6]
        let got = try a.withUnsafeBufferPointer { pa in try b.withUnsafeBufferPointer { pb in try VectorMath.dot(pa, pb) } }
        #expect(got == 32)
    }
}
