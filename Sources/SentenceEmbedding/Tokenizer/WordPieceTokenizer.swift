import Foundation

/// Token ids of a text as the model's `tokenizer.json` defines them: special tokens written in the text ("[SEP]")
/// are matched first, the rest is normalised and split by `BertNormalizer`, each word becomes the longest vocabulary
/// pieces from its start ("##" before continuing pieces, the whole word `[UNK]` when a piece is missing or the word
/// has more than 100 characters), and the result is `[CLS] pieces… [SEP]`, cut to `maximumTokens` in all.
public struct WordPieceTokenizer: Sendable {
    /// Tokens per text, [CLS] and [SEP] included: sentence-transformers' max_seq_length for all-MiniLM-L6-v2.
    public static let defaultMaximumTokens = 256

    public let maximumTokens: Int
    let vocabulary: Vocabulary
    let normalizer: BertNormalizer
    let unknownID: Int32
    let classID: Int32
    let separatorID: Int32
    let continuingPrefix: [UInt8]
    let maximumCharactersPerWord: Int
    /// Added tokens (the special ones) matched verbatim in the raw text, longest first.
    let specialTokens: [(text: String, id: Int32)]
    /// The first UTF-8 byte of each special token.
    let specialTokenFirstBytes: Set<UInt8>

    /// The number of entries in the vocabulary.
    public var vocabularySize: Int { vocabulary.count }
    /// The largest token id the tokenizer can produce.
    var largestID: Int32 { vocabulary.largestID }

    public static func load(_ url: URL, maximumTokens: Int = defaultMaximumTokens) throws -> WordPieceTokenizer {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw SentenceEmbeddingError(exists ? .unreadableFile : .missingFile, file: path, exists ? "cannot be read" : "no such file")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let model = object["model"] as? [String: Any], let rawVocabulary = model["vocab"] as? [String: Int] else {
            throw SentenceEmbeddingError(.malformedFile, file: path, "not a tokenizer.json with a model.vocab object")
        }
        if let type = model["type"] as? String, type != "WordPiece" {
            throw SentenceEmbeddingError(.unsupportedModel, file: path, "model.type is \(type), expected WordPiece")
        }
        guard rawVocabulary.values.allSatisfy({ (0...Int(Int32.max)).contains($0) }) else {
            throw SentenceEmbeddingError(.malformedFile, file: path, "model.vocab has ids outside 0...\(Int32.max)")
        }
        let vocabulary = Vocabulary(rawVocabulary.mapValues { Int32($0) })
        func id(_ token: String) throws -> Int32 {
            guard let id = vocabulary.id(token) else {
                throw SentenceEmbeddingError(.unsupportedModel, file: path, "the vocabulary has no \(token)")
            }
            return id
        }
        var normalizer = BertNormalizer()
        if let n = object["normalizer"] as? [String: Any] {
            if let type = n["type"] as? String, type != "BertNormalizer" {
                throw SentenceEmbeddingError(.unsupportedModel, file: path, "normalizer.type is \(type), expected BertNormalizer")
            }
            normalizer.cleanText = n["clean_text"] as? Bool ?? true
            normalizer.handleChineseCharacters = n["handle_chinese_chars"] as? Bool ?? true
            normalizer.lowercase = n["lowercase"] as? Bool ?? true
            // null means "as lowercase", as in BertNormalizer.
            normalizer.stripAccents = n["strip_accents"] as? Bool ?? normalizer.lowercase
        }
        let added = (object["added_tokens"] as? [[String: Any]] ?? []).compactMap { token -> (String, Int32)? in
            guard let text = token["content"] as? String, let id = token["id"] as? Int, !text.isEmpty,
                  let id32 = Int32(exactly: id) else { return nil }
            return (text, id32)
        }
        let unknown = model["unk_token"] as? String ?? "[UNK]"
        return WordPieceTokenizer(
            maximumTokens: max(2, maximumTokens), vocabulary: vocabulary, normalizer: normalizer, unknownID: try id(unknown),
            classID: try id("[CLS]"), separatorID: try id("[SEP]"),
            continuingPrefix: Array((model["continuing_subword_prefix"] as? String ?? "##").utf8),
            maximumCharactersPerWord: model["max_input_chars_per_word"] as? Int ?? 100,
            specialTokens: added.sorted { $0.0.count > $1.0.count },
            specialTokenFirstBytes: Set(added.compactMap { $0.0.utf8.first }))
    }

    /// The token ids of `text`: [CLS], at most `maximumTokens` - 2 pieces, [SEP].
    public func encode(_ text: String) -> [Int32] {
        let limit = maximumTokens - 2
        var ids: [Int32] = [classID]
        ids.reserveCapacity(min(maximumTokens, text.utf8.count / 3 + 4))
        var rest = Substring(text)
        while !rest.isEmpty && ids.count - 1 < limit {
            let (segment, special) = splitAtSpecialToken(rest)
            normalizer.forEachWord(segment.text) { word in
                appendPieces(of: &word, to: &ids)
                return ids.count - 1 < limit
            }
            if let special, ids.count - 1 < limit { ids.append(special) }
            rest = segment.rest
        }
        if ids.count - 1 > limit { ids.removeSubrange((limit + 1)...) }
        ids.append(separatorID)
        return ids
    }

    /// The text before the first special token, that token's id, and the text after it.
    private func splitAtSpecialToken(_ text: Substring) -> (segment: (text: Substring, rest: Substring), special: Int32?) {
        // A quick scan first: BERT's special tokens all start with "[", which most texts never contain.
        guard text.utf8.contains(where: { specialTokenFirstBytes.contains($0) }) else {
            return ((text, text[text.endIndex...]), nil)
        }
        var best: (range: Range<Substring.Index>, id: Int32)?
        for (token, id) in specialTokens {
            guard let range = text.range(of: token) else { continue }
            if best.map({ range.lowerBound < $0.range.lowerBound }) ?? true { best = (range, id) }
        }
        guard let best else { return ((text, text[text.endIndex...]), nil) }
        return ((text[..<best.range.lowerBound], text[best.range.upperBound...]), best.id)
    }

    /// WordPiece: the longest vocabulary piece from the start, then from where it ended (with the "##" prefix).
    private func appendPieces(of word: inout BertNormalizer.Word, to ids: inout [Int32]) {
        let characters = word.boundaries.count - 1
        guard characters <= maximumCharactersPerWord else {
            ids.append(unknownID)
            return
        }
        let first = ids.count
        let found: Bool = word.bytes.withUnsafeBufferPointer { bytes in
            var start = 0  // index into boundaries
            while start < characters {
                var end = characters
                var piece: Int32?
                while end > start {
                    let slice = UnsafeBufferPointer(rebasing: bytes[word.boundaries[start]..<word.boundaries[end]])
                    piece = vocabulary.id(prefix: start == 0 ? [] : continuingPrefix, slice)
                    if piece != nil { break }
                    end -= 1
                }
                guard let piece else { return false }
                ids.append(piece)
                start = end
            }
            return true
        }
        if !found {
            ids.removeSubrange(first...)
            ids.append(unknownID)
        }
    }
}
