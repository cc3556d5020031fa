import CTransformerKernels

/// Which compiled variant of the C kernels (CTransformerKernels) runs: chosen at run time from CPUID and XGETBV, so one
/// x86-64 binary runs everywhere and uses AVX-512 where the CPU and OS have it. A lower level can be asked for (the
/// tests compare all three); a higher one than the CPU supports is clamped by the kernels, never executed.
public enum KernelLevel: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case generic = 0
    case avx2 = 1
    case avx512 = 2

    /// The best level this CPU supports (checked once).
    public static let best = KernelLevel(rawValue: tk_best_level()) ?? .generic

    public var description: String {
        switch self {
        case .generic: "generic C (baseline x86-64)"
        case .avx2: "AVX2+FMA"
        case .avx512: "AVX-512F"
        }
    }

    /// Floats per FMA instruction at this level (for the peak figure of the benchmark).
    public var lanes: Int {
        switch self {
        case .generic: 1
        case .avx2: 8
        case .avx512: 16
        }
    }

    /// GFLOP/s one thread sustains with independent FMAs at this level, measured for about `seconds`.
    public func measuredFMAPeak(seconds: Double = 0.3) -> Double { tk_measure_fma_gflops(rawValue, seconds) }
}
