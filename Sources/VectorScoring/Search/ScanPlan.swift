/// Which blocks a scan reads and, with a filter, which lanes of them count.
struct ScanPlan {
    /// Ranges of block numbers, ascending and disjoint.
    var runs: [Range<Int>]
    /// Allowed lanes per block (bit l = lane l); nil means every stored vector.
    var masks: [UInt16]?
    /// How many stored vectors the plan admits.
    var slotCount: Int

    var blockCount: Int { runs.reduce(0) { $0 + $1.count } }

    static func all(count: Int) -> ScanPlan {
        ScanPlan(runs: count > 0 ? [0..<((count + 15) / 16)] : [], masks: nil, slotCount: count)
    }

    /// Only the blocks that hold one of `filter`'s ids are read (a small filter reads a few blocks).
    init(filter: Set<Int64>, slots: [Int64: Int32], count: Int) {
        var masks = [UInt16](repeating: 0, count: (count + 15) / 16)
        var admitted = 0
        for id in filter {
            guard let slot = slots[id] else { continue }
            masks[Int(slot) >> 4] |= 1 << UInt16(slot & 15)
            admitted += 1
        }
        var runs: [Range<Int>] = []
        var start: Int?
        for (block, mask) in masks.enumerated() {
            if mask != 0, start == nil { start = block }
            if mask == 0, let s = start { runs.append(s..<block); start = nil }
        }
        if let s = start { runs.append(s..<masks.count) }
        self.init(runs: runs, masks: masks, slotCount: admitted)
    }

    init(runs: [Range<Int>], masks: [UInt16]?, slotCount: Int) {
        self.runs = runs
        self.masks = masks
        self.slotCount = slotCount
    }

    /// The runs cut into `parts` pieces of nearly equal block counts (fewer if there are too few blocks).
    func split(into parts: Int) -> [[Range<Int>]] {
        let total = blockCount
        guard parts > 1, total > 1 else { return [runs] }
        var pieces: [[Range<Int>]] = []
        var remaining = runs[...]
        for share in Parallel.split(total, into: parts) {
            var need = share.count
            var piece: [Range<Int>] = []
            while need > 0, let run = remaining.first {
                let take = min(need, run.count)
                piece.append(run.lowerBound..<(run.lowerBound + take))
                need -= take
                remaining.removeFirst()
                if take < run.count { remaining.insert((run.lowerBound + take)..<run.upperBound, at: remaining.startIndex) }
            }
            pieces.append(piece)
        }
        return pieces
    }
}
