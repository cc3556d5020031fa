/// WordPiece's vocabulary as an open-addressing table over UTF-8 bytes, so a lookup of a piece of a word (with or
/// without the "##" prefix of a continuing piece) hashes bytes already in hand instead of building a String for each
/// candidate piece. FNV-1a, linear probing, at most half full.
struct Vocabulary: Sendable {
    private var bytes: [UInt8] = []
    private var starts: [Int32] = []
    private var ids: [Int32] = []
    private var slots: [Int32]
    private let mask: Int
    /// The largest id, so a caller can check the vocabulary against the embedding table.
    private(set) var largestID: Int32 = -1

    init(_ entries: [String: Int32]) {
        var capacity = 16
        while capacity < entries.count * 2 { capacity <<= 1 }
        slots = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        for (token, id) in entries {
            let entry = Int32(ids.count)
            starts.append(Int32(bytes.count))
            bytes.append(contentsOf: token.utf8)
            ids.append(id)
            largestID = max(largestID, id)
            var slot = Int(Self.hash(prefix: [], Array(token.utf8)) & UInt64(mask))
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = entry
        }
        starts.append(Int32(bytes.count))
    }

    var count: Int { ids.count }

    /// The id of `prefix` + `piece`, if in the vocabulary.
    func id(prefix: [UInt8], _ piece: UnsafeBufferPointer<UInt8>) -> Int32? {
        let hash = Self.hash(prefix: prefix, piece)
        var slot = Int(hash & UInt64(mask))
        let length = prefix.count + piece.count
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { return nil }
            let start = Int(starts[entry])
            if Int(starts[entry + 1]) - start == length, matches(start, prefix, piece) { return ids[entry] }
            slot = (slot + 1) & mask
        }
    }

    /// The id of a whole token, e.g. "[CLS]".
    func id(_ token: String) -> Int32? {
        let utf8 = Array(token.utf8)
        return utf8.withUnsafeBufferPointer { id(prefix: [], $0) }
    }

    private func matches(_ start: Int, _ prefix: [UInt8], _ piece: UnsafeBufferPointer<UInt8>) -> Bool {
        for (i, b) in prefix.enumerated() where bytes[start + i] != b { return false }
        let offset = start + prefix.count
        for i in 0..<piece.count where bytes[offset + i] != piece[i] { return false }
        return true
    }

    private static func hash<C: Collection>(prefix: [UInt8], _ piece: C) -> UInt64 where C.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in prefix { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        for b in piece { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }
}
