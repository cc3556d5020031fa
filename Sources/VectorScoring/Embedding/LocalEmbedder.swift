/// The built-in local embedder: deterministic, no network, no model; captures lexical and skill overlap.
///
/// Features of a text, on lowercased UTF-8 tokens (see `TextTokenizer`; English stop words dropped):
/// - each word (weight 1), each pair of neighbouring words (0.7), each character trigram of a word with
///   its boundaries, `^py`, `pyt`, ..., `on$` (0.15: catches `develop`/`developer`/`development`);
/// - each explicit skill as one phrase token (2.5) plus its words (1), so texts that list the same skills
///   score high, and a skill listed on one side still meets the same word in the other side's text.
/// Each distinct feature adds weight × (1 + ln tf) (sublinear tf) to one of `dimension` buckets with a
/// sign, both from a 64-bit FNV-1a + Murmur-mix hash (signed feature hashing keeps collisions unbiased);
/// the result is L2-normalised.
///
/// Measured (see the tests' texts): a Python/Django posting and a matching candidate 0.67, the posting and
/// a nurse 0.05 below zero. Random pairs of the real SkillSpan postings average 0.19 (O*NET occupations
/// 0.17): postings share a genre's vocabulary, and there is no corpus for IDF. With trigrams at 0.3 those
/// averages were 0.26 / 0.28 for the same related score, at 0 they were 0.17 / 0.12 but `developer` no
/// longer met `development`. Throughput: ~10,000 real postings (354 words) per second on one core.
public struct LocalEmbedder: Sendable {
    /// The length of the vectors produced.
    public let dimension: Int

    static let wordWeight: Float = 1
    static let bigramWeight: Float = 0.7
    static let trigramWeight: Float = 0.15
    static let skillWeight: Float = 2.5
    /// Longer "words" are URLs, hashes and the like: no trigrams for them.
    static let trigramMaxLength = 32

    /// Precondition: `dimension` > 0. Only configuration reaches this (`EmbeddingProvider.fromEnvironment`, at
    /// startup); no script value does, so a bad setting traps when the process starts, not inside a run.
    public init(dimension: Int = 384) {
        precondition(dimension > 0, "LocalEmbedder: dimension must be positive")
        self.dimension = dimension
    }

    /// The embedding of `text` with optional explicit `skills` (e.g. a posting's or a candidate's skill list).
    public func embed(_ text: String, skills: [String] = []) -> Vector {
        var scratch = Scratch()
        return embed(text, skills: skills, scratch: &scratch)
    }

    /// Embeddings of many texts, in order, on up to 2 threads.
    public func embed(batch: [(text: String, skills: [String])]) -> [Vector] {
        // Below a few hundred texts a second thread costs about as much to start as it saves.
        let parts = Parallel.split(batch.count, into: batch.count >= 256 ? 2 : 1)
        return Parallel.map(parts.count) { p in
            var scratch = Scratch()
            return parts[p].map { embed(batch[$0].text, skills: batch[$0].skills, scratch: &scratch) }
        }.flatMap { $0 }
    }

    /// Buffers reused from one text to the next by one thread.
    struct Scratch {
        var lowered: [UInt8] = []
        var counter = FeatureCounter()
    }

    func embed(_ text: String, skills: [String], scratch: inout Scratch) -> Vector {
        addText(text, scratch: &scratch)
        for skill in skills { addSkill(skill, scratch: &scratch) }
        var values = [Float](repeating: 0, count: dimension)
        let buckets = UInt64(dimension)
        scratch.counter.drain { key, weight in
            // High bits choose the bucket (multiply-shift range reduction), the lowest bit the sign.
            let bucket = Int(((key >> 32) &* buckets) >> 32)
            values[bucket] += key & 1 == 0 ? weight : -weight
        }
        return Vector(Vector.normalizedValues(values))
    }

    private func addText(_ text: String, scratch: inout Scratch) {
        var text = text
        text.withUTF8 { bytes in
            var previous: UInt64?
            TextTokenizer.forEachToken(bytes, lowered: &scratch.lowered) { lowered, range in
                let token = UnsafeBufferPointer(rebasing: lowered[range])
                let h = FeatureHash.fnv1a(token)
                if StopWords.hashes.contains(h), !Self.isUppercaseAcronym(bytes, range) { return }
                scratch.counter.add(FeatureHash.key(.word, h), weight: Self.wordWeight)
                if let p = previous {
                    scratch.counter.add(FeatureHash.key(.bigram, p &* FeatureHash.prime ^ h), weight: Self.bigramWeight)
                }
                previous = h
                addTrigrams(token, counter: &scratch.counter)
            }
        }
    }

    /// A skill phrase is normalised with the same tokenizer ("Machine  Learning" = "machine learning").
    private func addSkill(_ skill: String, scratch: inout Scratch) {
        var skill = skill
        skill.withUTF8 { bytes in
            var phrase = FeatureHash.offset
            var words = 0
            TextTokenizer.forEachToken(bytes, lowered: &scratch.lowered) { lowered, range in
                let token = UnsafeBufferPointer(rebasing: lowered[range])
                if words > 0 { phrase = (phrase ^ 32) &* FeatureHash.prime }
                phrase = FeatureHash.fnv1a(token, seed: phrase)
                words += 1
                scratch.counter.add(FeatureHash.key(.word, FeatureHash.fnv1a(token)), weight: Self.wordWeight)
            }
            if words > 0 { scratch.counter.add(FeatureHash.key(.skill, phrase), weight: Self.skillWeight) }
        }
    }

    @inline(__always)
    private func addTrigrams(_ token: UnsafeBufferPointer<UInt8>, counter: inout FeatureCounter) {
        let n = token.count
        guard n <= Self.trigramMaxLength, !token.allSatisfy({ $0 &- 48 < 10 }) else { return }
        // Bytes of "^token$" taken three at a time; 0x02 and 0x03 stand for the boundaries.
        @inline(__always) func byte(_ i: Int) -> UInt64 { i == 0 ? 2 : (i == n + 1 ? 3 : UInt64(token[i - 1])) }
        for i in 0..<n {
            let packed = byte(i) | byte(i + 1) << 8 | byte(i + 2) << 16
            counter.add(FeatureHash.key(.trigram, packed), weight: Self.trigramWeight)
        }
    }

    /// "IT" or "US" in capitals is a term, not the stop word.
    private static func isUppercaseAcronym(_ original: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        range.count >= 2 && range.allSatisfy { original[$0] &- 65 < 26 }
    }
}
