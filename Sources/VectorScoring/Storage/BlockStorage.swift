import CVectorKernels

/// The two matrices behind a `VectorIndex`, in blocks of 16 vectors stored dimension by dimension, so one
/// SIMD register holds one dimension of 16 vectors: a score needs no horizontal sum, and a threshold is
/// one compare per 16 vectors (VECTOR_NOTES: 48 ms vs 51 ms row by row for 1M x 384, both memory bound).
///
/// - float32 copy: `dimension` rows of 16 floats per block, the vectors as stored (normalised).
/// - int8 copy: `groups` = ceil(dimension / 4) rows of 64 bytes per block, each lane's 4 consecutive
///   dimensions side by side (the shape of VNNI's 4-byte dot product), biased by +128; one scale per vector.
///   A quarter of the bytes, so the memory-bound scan is about 4x faster; `VectorIndex` re-scores the best
///   candidates exactly.
///
/// Slots `0..<count` are dense; lanes past `count` in the last block are zero and never reported.
/// Not synchronised: `VectorIndex` guards it with its lock.
final class BlockStorage {
    let dimension: Int
    let groups: Int
    private(set) var count = 0
    private(set) var capacityBlocks = 0
    private var floatBuffer: AlignedBuffer
    private var byteBuffer: AlignedBuffer
    private var scaleBuffer: AlignedBuffer

    init(dimension: Int, capacity: Int) {
        self.dimension = dimension
        self.groups = (dimension + 3) / 4
        floatBuffer = AlignedBuffer(byteCount: 0)
        byteBuffer = AlignedBuffer(byteCount: 0)
        scaleBuffer = AlignedBuffer(byteCount: 0)
        reserve(capacity)
    }

    var blockCount: Int { (count + 15) / 16 }
    var floatsPerBlock: Int { dimension * 16 }
    var bytesPerBlock: Int { groups * 64 }

    var floats: UnsafeMutablePointer<Float> { floatBuffer.raw.assumingMemoryBound(to: Float.self) }
    var bytes: UnsafeMutablePointer<UInt8> { byteBuffer.raw.assumingMemoryBound(to: UInt8.self) }
    /// One int8 scale per slot.
    var scales: UnsafeMutablePointer<Float> { scaleBuffer.raw.assumingMemoryBound(to: Float.self) }

    /// Makes room for `slots` vectors; grows by half again so bulk loads copy each vector about twice.
    func reserve(_ slots: Int) {
        let needed = (slots + 15) / 16
        guard needed > capacityBlocks else { return }
        let blocks = max(needed, capacityBlocks + capacityBlocks / 2, 4)
        let newFloats = AlignedBuffer(byteCount: blocks * floatsPerBlock * 4)
        let newBytes = AlignedBuffer(byteCount: blocks * bytesPerBlock)
        let newScales = AlignedBuffer(byteCount: blocks * 16 * 4)
        let used = blockCount
        newFloats.raw.copyMemory(from: floatBuffer.raw, byteCount: used * floatsPerBlock * 4)
        newBytes.raw.copyMemory(from: byteBuffer.raw, byteCount: used * bytesPerBlock)
        newScales.raw.copyMemory(from: scaleBuffer.raw, byteCount: used * 16 * 4)
        floatBuffer = newFloats
        byteBuffer = newBytes
        scaleBuffer = newScales
        capacityBlocks = blocks
    }

    /// Appends a slot and returns it; the caller writes the vector.
    func appendSlot() -> Int {
        reserve(count + 1)
        count += 1
        return count - 1
    }

    /// Normalises `values` and stores them (and the int8 copy) at `slot`; returns the int8 scale.
    func write(slot: Int, values: UnsafeBufferPointer<Float>) -> Float {
        let block = slot >> 4
        let scale = bl_store_vector(values.baseAddress, dimension, floats + block * floatsPerBlock,
                                    bytes + block * bytesPerBlock, slot & 15)
        scales[slot] = scale
        return scale
    }

    /// Rounds half away from zero into -127...127, like `bl_store_vector` does for stored vectors; inline,
    /// where `rounded()` is a call to libm's roundf on the x86-64 baseline (4 % of a build profile).
    @inline(__always)
    static func quantize(_ y: Float) -> Int32 {
        Int32(y + (y < 0 ? -0.5 : 0.5)).clamped(-127, 127)
    }

    /// The float32 vector at `slot`.
    func read(slot: Int) -> [Float] {
        let f = floats + (slot >> 4) * floatsPerBlock + (slot & 15)
        return (0..<dimension).map { f[$0 * 16] }
    }

    /// Removes the last slot after copying it over `slot` (unless it is `slot`); returns the slot that moved.
    func removeBySwappingLast(into slot: Int) -> Int {
        let last = count - 1
        if slot != last { copyLane(from: last, to: slot) }
        zeroLane(last)
        count -= 1
        return last
    }

    func removeAll() {
        let blocks = blockCount
        floatBuffer.raw.initializeMemory(as: UInt8.self, repeating: 0, count: blocks * floatsPerBlock * 4)
        byteBuffer.raw.initializeMemory(as: UInt8.self, repeating: 0, count: blocks * bytesPerBlock)
        scaleBuffer.raw.initializeMemory(as: UInt8.self, repeating: 0, count: blocks * 16 * 4)
        count = 0
    }

    private func copyLane(from source: Int, to target: Int) {
        let fs = floats + (source >> 4) * floatsPerBlock + (source & 15)
        let ft = floats + (target >> 4) * floatsPerBlock + (target & 15)
        for d in 0..<dimension { ft[d * 16] = fs[d * 16] }
        let bs = bytes + (source >> 4) * bytesPerBlock + (source & 15) * 4
        let bt = bytes + (target >> 4) * bytesPerBlock + (target & 15) * 4
        for g in 0..<groups { (bt + g * 64).update(from: bs + g * 64, count: 4) }
        scales[target] = scales[source]
    }

    private func zeroLane(_ slot: Int) {
        let f = floats + (slot >> 4) * floatsPerBlock + (slot & 15)
        for d in 0..<dimension { f[d * 16] = 0 }
        let b = bytes + (slot >> 4) * bytesPerBlock + (slot & 15) * 4
        for g in 0..<groups { (b + g * 64).update(repeating: 128, count: 4) }
        scales[slot] = 0
    }
}

extension Int32 {
    func clamped(_ low: Int32, _ high: Int32) -> Int32 { Swift.min(Swift.max(self, low), high) }
}
