import CVectorKernels

/// The matrices behind a `VectorIndex`, in blocks of 16 vectors stored dimension by dimension, so one SIMD
/// register holds one dimension of 16 vectors: a score needs no horizontal sum, and a threshold is one
/// compare per 16 vectors (VECTOR_NOTES: 48 ms vs 51 ms row by row for 1M x 384, both memory bound).
///
/// - float32 copy: `dimension` rows of 16 floats per block, the vectors as stored (normalised).
/// - int8 copy: `groups` = ceil(dimension / 4) rows of 64 bytes per block, each lane's 4 consecutive
///   dimensions side by side (the shape of VNNI's 4-byte dot product), biased by +128; one scale per vector.
///   A quarter of the bytes, so the memory-bound scan is about 4x faster.
/// - int4 copy: `nibbleGroups` = ceil(dimension / 8) rows of 64 bytes, 8 dimensions per lane per row, +8
///   biased; one scale per vector. An eighth of the bytes (192 MB for 1M x 384) for `.int4` scans.
/// `VectorIndex` re-scores the best candidates of a quantised scan exactly.
///
/// Slots `0..<count` are dense; lanes past `count` in the last block are zero and never reported.
/// Not synchronised: `VectorIndex` guards it with its lock.
final class BlockStorage {
    let dimension: Int
    let groups: Int
    let nibbleGroups: Int
    private(set) var count = 0
    private(set) var capacityBlocks = 0
    private var floatBuffer: AlignedBuffer
    private var byteBuffer: AlignedBuffer
    private var nibbleBuffer: AlignedBuffer
    private var scaleBuffer: AlignedBuffer
    private var scale4Buffer: AlignedBuffer

    /// Slots are stored as Int32 (`VectorIndex.slots`, the heaps), so no more vectors than that.
    static let maximumCount = Int(Int32.max)

    /// Throws `VectorScoringError` when `capacity` is negative, too large, or cannot be mapped.
    init(dimension: Int, capacity: Int) throws {
        self.dimension = dimension
        groups = (dimension + 3) / 4
        nibbleGroups = (dimension + 7) / 8
        floatBuffer = try AlignedBuffer(byteCount: 0)
        byteBuffer = try AlignedBuffer(byteCount: 0)
        nibbleBuffer = try AlignedBuffer(byteCount: 0)
        scaleBuffer = try AlignedBuffer(byteCount: 0)
        scale4Buffer = try AlignedBuffer(byteCount: 0)
        guard capacity >= 0 else {
            throw VectorScoringError(.invalidArgument, "VectorIndex", "capacity must not be negative, got \(capacity)")
        }
        try reserve(capacity)
    }

    var blockCount: Int { (count + 15) / 16 }
    var floatsPerBlock: Int { dimension * 16 }
    var bytesPerBlock: Int { groups * 64 }
    var nibbleBytesPerBlock: Int { nibbleGroups * 64 }

    var floats: UnsafeMutablePointer<Float> { floatBuffer.raw.assumingMemoryBound(to: Float.self) }
    var bytes: UnsafeMutablePointer<UInt8> { byteBuffer.raw.assumingMemoryBound(to: UInt8.self) }
    var nibbles: UnsafeMutablePointer<UInt8> { nibbleBuffer.raw.assumingMemoryBound(to: UInt8.self) }
    /// The int8 scale of each slot.
    var scales: UnsafeMutablePointer<Float> { scaleBuffer.raw.assumingMemoryBound(to: Float.self) }
    /// The int4 scale of each slot.
    var scales4: UnsafeMutablePointer<Float> { scale4Buffer.raw.assumingMemoryBound(to: Float.self) }

    /// Makes room for `slots` vectors; grows by half again so one-by-one inserts copy each vector about twice.
    /// Throws when `slots` exceeds `maximumCount` or the memory cannot be mapped; the old buffers then stay.
    func reserve(_ slots: Int) throws {
        guard slots <= Self.maximumCount else {
            throw VectorScoringError(.outOfMemory, "VectorIndex",
                                     "cannot hold \(slots) vectors (at most \(Self.maximumCount))")
        }
        let needed = (slots + 15) / 16
        guard needed > capacityBlocks else { return }
        // Under 2^28 blocks of at most 65,536 x 64 bytes (both callers check the dimension): no overflow below.
        let blocks = max(needed, capacityBlocks + capacityBlocks / 2, 4)
        let used = blockCount
        func grown(_ old: borrowing AlignedBuffer, bytesPerBlock: Int) throws -> AlignedBuffer {
            let new = try AlignedBuffer(byteCount: blocks * bytesPerBlock)
            new.raw.copyMemory(from: old.raw, byteCount: used * bytesPerBlock)
            return new
        }
        // All five are mapped before any is replaced, so a failure leaves the storage as it was.
        let floats = try grown(floatBuffer, bytesPerBlock: floatsPerBlock * 4)
        let bytes = try grown(byteBuffer, bytesPerBlock: bytesPerBlock)
        let nibbles = try grown(nibbleBuffer, bytesPerBlock: nibbleBytesPerBlock)
        let scales = try grown(scaleBuffer, bytesPerBlock: 64)
        let scales4 = try grown(scale4Buffer, bytesPerBlock: 64)
        floatBuffer = floats
        byteBuffer = bytes
        nibbleBuffer = nibbles
        scaleBuffer = scales
        scale4Buffer = scales4
        capacityBlocks = blocks
    }

    /// Appends a slot and returns it; the caller writes the vector.
    func appendSlot() throws -> Int {
        try reserve(count + 1)
        count += 1
        return count - 1
    }

    /// Normalises `values` and stores them (and the int8 and int4 copies) at `slot`; returns both scales.
    func write(slot: Int, values: UnsafeBufferPointer<Float>) -> (int8: Float, int4: Float) {
        let block = slot >> 4
        var scale4: Float = 0
        let scale = bl_store_vector(values.baseAddress, dimension, floats + block * floatsPerBlock,
                                    bytes + block * bytesPerBlock, nibbles + block * nibbleBytesPerBlock,
                                    slot & 15, &scale4)
        scales[slot] = scale
        scales4[slot] = scale4
        return (scale, scale4)
    }

    /// Rounds half away from zero into -127...127, as `bl_store_vector` does for stored vectors; inline,
    /// where `rounded()` is a call to libm's roundf on the x86-64 baseline (4 % of a build profile).
    /// `Int32(_:)` traps on NaN or a value out of range; the only caller (`PreparedQueries`) passes components
    /// of a normalised row times 127 / its largest component, so |y| <= ~127 and y is finite: no outside value
    /// reaches a trap here.
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
        clearLane(last)
        count -= 1
        return last
    }

    func removeAll() {
        let blocks = blockCount
        floatBuffer.raw.initializeMemory(as: UInt8.self, repeating: 0, count: blocks * floatsPerBlock * 4)
        byteBuffer.raw.initializeMemory(as: UInt8.self, repeating: 0, count: blocks * bytesPerBlock)
        nibbleBuffer.raw.initializeMemory(as: UInt8.self, repeating: 0, count: blocks * nibbleBytesPerBlock)
        scaleBuffer.raw.initializeMemory(as: UInt8.self, repeating: 0, count: blocks * 64)
        scale4Buffer.raw.initializeMemory(as: UInt8.self, repeating: 0, count: blocks * 64)
        count = 0
    }

    /// The lane's 4-byte words in the int8 and int4 rows, and its floats, from `source` to `target`.
    private func copyLane(from source: Int, to target: Int) {
        let fs = floats + (source >> 4) * floatsPerBlock + (source & 15)
        let ft = floats + (target >> 4) * floatsPerBlock + (target & 15)
        for d in 0..<dimension { ft[d * 16] = fs[d * 16] }
        copyWords(bytes, bytesPerBlock, groups, from: source, to: target)
        copyWords(nibbles, nibbleBytesPerBlock, nibbleGroups, from: source, to: target)
        scales[target] = scales[source]
        scales4[target] = scales4[source]
    }

    private func copyWords(_ base: UnsafeMutablePointer<UInt8>, _ perBlock: Int, _ rows: Int, from source: Int, to target: Int) {
        let s = base + (source >> 4) * perBlock + (source & 15) * 4
        let t = base + (target >> 4) * perBlock + (target & 15) * 4
        for g in 0..<rows { (t + g * 64).update(from: s + g * 64, count: 4) }
    }

    private func clearLane(_ slot: Int) {
        let f = floats + (slot >> 4) * floatsPerBlock + (slot & 15)
        for d in 0..<dimension { f[d * 16] = 0 }
        let b = bytes + (slot >> 4) * bytesPerBlock + (slot & 15) * 4
        for g in 0..<groups { (b + g * 64).update(repeating: 128, count: 4) }
        let n = nibbles + (slot >> 4) * nibbleBytesPerBlock + (slot & 15) * 4
        for g in 0..<nibbleGroups { (n + g * 64).update(repeating: 0x88, count: 4) }
        scales[slot] = 0
        scales4[slot] = 0
    }
}

extension Int32 {
    func clamped(_ low: Int32, _ high: Int32) -> Int32 { Swift.min(Swift.max(self, low), high) }
}
