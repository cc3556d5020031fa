import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fork-join over a few OS threads for the encoder: each thread takes whole chunks of sequences from a shared counter
/// until none are left, so two threads stay busy whatever the lengths of the texts.
enum ForkJoin {
    /// The processors the OS lets this process use.
    static var processorCount: Int {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return max(1, Int(sysconf(_SC_NPROCESSORS_ONLN)))
        #endif
    }

    /// Runs `body(thread)` on `threads` threads (the caller's among them) and returns when all have returned.
    static func run(threads: Int, _ body: (Int) -> Void) {
        if threads <= 1 {
            body(0)
            return
        }
        // concurrentPerform wants a @Sendable closure; `body` only touches memory its caller partitioned between
        // the threads, and it does not outlive this call.
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: threads) { box.value($0) }
        }
    }
}

/// Hands out 0, 1, 2, … to whichever thread asks next.
final class WorkCounter: Sendable {
    private let next = Atomic<Int>(0)

    func take() -> Int { next.add(1, ordering: .relaxed).oldValue }
}

/// Carries a value across a `@Sendable` boundary whose safety the caller has argued for.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
