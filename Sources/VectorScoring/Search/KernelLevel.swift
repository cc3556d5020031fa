import CVectorKernels

/// Which compiled variant of the C kernels runs.
///
/// The kernels are C because Swift has no per-function target attribute: Swift SIMD compiles for the
/// x86-64 baseline (SSE2) unless the whole module is built for one CPU (`-target-cpu`), and such a binary
/// faults on older CPUs. C gets three builds of each kernel and picks one at run time (CPUID + XGETBV).
/// Measured on this machine (Sapphire Rapids VM, 1M x 384, 1 thread, shared and so ±20 %):
///
/// | block scan                              | int8   | int4   | float32 | float32, 64 queries, per query |
/// |-----------------------------------------|--------|--------|---------|--------------------------------|
/// | C, AVX-512 VNNI / FMA (chosen here)     | 25 ms  | 13 ms  | 103 ms  | 8.4 ms                         |
/// | C, AVX2 + FMA                           | 46 ms  | 32 ms  | 122 ms  |                                |
/// | C, baseline (SSE2, auto-vectorised)     | 151 ms | 109 ms | 168 ms  |                                |
/// | portable Swift, `SIMD16` / scalar loops | 158 ms |        | 166 ms  | ~60 ms                         |
/// | portable Swift, `SIMD16.addingProduct`  |        |        | 1033 ms |                                |
///
/// The AVX-512 scans are memory bound (one core reads ~14.5 GB/s here); the portable Swift int8 scan is
/// compute bound at 6x that, and the batch is compute bound everywhere, so the C kernels are what make
/// both targets reachable.
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
