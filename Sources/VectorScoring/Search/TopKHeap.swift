/// The best `capacity` candidates seen so far, as a binary heap with the worst at the root, so the entry
/// bar (`floor`) is one read and most candidates of a scan are rejected by one compare.
/// Order: higher score, then lower id (the order of the results).
struct TopKHeap {
    struct Entry {
        var score: Float
        var id: Int64
        var slot: Int32

        @inline(__always)
        func ranksAbove(_ other: Entry) -> Bool {
            score > other.score || (score == other.score && id < other.id)
        }
    }

    let capacity: Int
    private(set) var entries: [Entry] = []

    init(capacity: Int) {
        self.capacity = max(0, capacity)
        entries.reserveCapacity(self.capacity)
    }

    var isFull: Bool { entries.count >= capacity }

    /// The lowest score that may still enter (an equal score enters only with a lower id).
    var floor: Float { isFull ? (entries.first?.score ?? .infinity) : -.infinity }

    @inline(__always)
    mutating func insert(score: Float, id: Int64, slot: Int32) {
        let entry = Entry(score: score, id: id, slot: slot)
        if entries.count < capacity {
            entries.append(entry)
            siftUp(entries.count - 1)
        } else if capacity > 0, entry.ranksAbove(entries[0]) {
            entries[0] = entry
            siftDown(0)
        }
    }

    mutating func merge(_ other: TopKHeap) {
        for e in other.entries { insert(score: e.score, id: e.id, slot: e.slot) }
    }

    /// The entries best first.
    func sorted() -> [Entry] {
        entries.sorted { $0.ranksAbove($1) }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        let entry = entries[child]
        while child > 0 {
            let parent = (child - 1) / 2
            // The root is the worst entry: move up while ranking below the parent.
            guard entries[parent].ranksAbove(entry) else { break }
            entries[child] = entries[parent]
            child = parent
        }
        entries[child] = entry
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let entry = entries[parent]
        let count = entries.count
        while true {
            var child = 2 * parent + 1
            if child >= count { break }
            if child + 1 < count, entries[child].ranksAbove(entries[child + 1]) { child += 1 }
            guard entry.ranksAbove(entries[child]) else { break }
            entries[parent] = entries[child]
            parent = child
        }
        entries[parent] = entry
    }
}
