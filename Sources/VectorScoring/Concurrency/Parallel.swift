import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fork-join over a few OS threads for the CPU-bound scans. The scans are memory bound, and on this
/// machine one core reads about 14.5 GB/s while two read about 27 GB/s, so a second thread nearly halves
/// a large scan (measured with a plain AVX-512 read loop over 1.5 GB).
enum Parallel {
    /// The processors the OS lets this process use.
    static var activeProcessorCount: Int {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return max(1, Int(sysconf(_SC_NPROCESSORS_ONLN)))
        #endif
    }

    /// Runs `body(0..<count)` on up to `count` threads and returns when all are done. The calling thread
    /// takes part, so `count == 1` costs nothing.
    static func run(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 {
            body(0)
            return
        }
        // concurrentPerform wants a @Sendable closure; `body` only ever touches per-iteration state or
        // memory its caller partitioned by iteration, and it does not outlive this call.
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
        }
    }

    /// Splits `0..<total` into `parts` contiguous ranges of nearly equal size.
    static func split(_ total: Int, into parts: Int) -> [Range<Int>] {
        let parts = max(1, min(parts, total))
        return (0..<parts).map { p in (total * p / parts)..<(total * (p + 1) / parts) }
    }
}


extension Parallel {
    /// `body(i)` for i in 0..<count, on up to `count` threads, in order.
    static func map<T>(_ count: Int, _ body: (Int) -> T) -> [T] {
        guard count > 1 else { return count == 1 ? [body(0)] : [] }
        let results = UnsafeMutablePointer<T?>.allocate(capacity: count)
        results.initialize(repeating: nil, count: count)
        defer {
            results.deinitialize(count: count)
            results.deallocate()
        }
        // Each iteration writes only its own element, and every one runs before `run` returns: the `!` below
        // cannot meet a nil.
        run(count) { i in results[i] = body(i) }
        return (0..<count).map { results[$0]! }
    }
}

/// Carries a value across a `@Sendable` boundary whose safety the caller has argued for.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
