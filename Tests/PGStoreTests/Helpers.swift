import Foundation
import PGStore
import TestSupport

/// A connection to a fresh database of the process's test cluster.
func freshConnection() throws -> PGConnection {
    try PGConnection(url: TestDatabase.fresh())
}

/// Seconds taken by `body`.
func elapsed(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// A Date that is exactly a whole number of microseconds since 1970, built the way PGStore decodes one.
func date(micros: Int64) -> Date {
    Date(timeIntervalSinceReferenceDate: Double(micros - 978_307_200_000_000) / 1_000_000)
}

func micros(_ date: Date) -> Int64 {
    Int64((date.timeIntervalSinceReferenceDate * 1_000_000).rounded()) + 978_307_200_000_000
}

/// Runs `body` on `count` threads at once (released together) and returns their results in thread order.
func onThreads<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, any Error>] {
    let results = ResultBox<T>(count: count)
    let start = DispatchSemaphore(value: 0)
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        Thread.detachNewThread {
            start.wait()
            results.set(i, Result { try body(i) })
            group.leave()
        }
    }
    for _ in 0..<count { start.signal() }
    group.wait()
    return results.all
}

final class ResultBox<T: Sendable>: @unchecked Sendable {
    // Guarded by `lock`.
    private var values: [Result<T, any Error>?]
    private let lock = NSLock()
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: Result<T, any Error>) { lock.withLock { values[i] = value } }
    var all: [Result<T, any Error>] { lock.withLock { values.map { $0! } } }
}
