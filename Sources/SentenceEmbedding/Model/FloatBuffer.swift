/// Floats in one 64-byte-aligned allocation (a whole cache line, and what an AVX-512 load wants), zeroed, freed with
/// the buffer. Model weights are written once while loading and only read afterwards, which is why the type may be
/// shared between threads; scratch buffers of one thread are never shared.
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Float>.size, alignment: 64)
        raw.initializeMemory(as: Float.self, repeating: 0, count: max(1, count))
        pointer = raw.assumingMemoryBound(to: Float.self)
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}
