import CVectorKernels

/// Which compiled variant of the C kernels runs. The kernels are C because Swift has no per-function
/// target attribute: Swift SIMD compiles for the x86-64 baseline (SSE2) unless the whole module is built
/// for one CPU, and such a binary faults on older ones. Measured on this machine (Sapphire Rapids, 1M x 384,
/// one thread): a portable Swift SIMD16 int8 block scan took ~86 ms and the float32 one ~78 ms, against
/// ~28 ms (int8, VNNI) and ~100 ms (float32, both memory bound) in C; the 64-query fused float32 batch took
/// ~30 ms per query in portable Swift against ~3.5 ms with AVX-512 FMA. See VectorBenchmark for the figures.
enum KernelLevel: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case generic = 0
    case avx2 = 1
    case avx512 = 2

    /// The best level this CPU supports (CPUID + XGETBV, checked once).
    static let best = KernelLevel(rawValue: bl_best_kernel_level()) ?? .generic

    var description: String {
        switch self {
        case .generic: "generic C (baseline x86-64)"
        case .avx2: "AVX2+FMA"
        case .avx512: "AVX-512 VNNI"
        }
    }
}
