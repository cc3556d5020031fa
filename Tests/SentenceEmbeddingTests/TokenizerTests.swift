import Foundation
import SentenceEmbedding
import Testing

/// WordPiece as the model's tokenizer.json defines it. The expected ids are what Hugging Face `tokenizers` 0.22 gives
/// for the same tokenizer.json (with sentence-transformers' truncation to 256).
@Suite("WordPiece tokenizer")
struct TokenizerTests {
    func ids(_ text: String) throws -> [Int32] { try ModelFixture.embedder().tokenizer.encode(text) }

    @Test("accents are stripped and text is lowercased: Café Müller naïve résumé")
    func accents() throws {
        #expect(try ids("Café Müller naïve résumé") == [101, 7668, 12304, 15743, 13746, 102])
        #expect(try ids("ÅNGSTRÖM Straße İstanbul") == [101, 17076, 15687, 2358, 27807, 9960, 102])
    }

    @Test("every punctuation character is a token of its own")
    func punctuation() throws {
        #expect(try ids("C++/C# developer (m/w/d)!!")
            == [101, 1039, 1009, 1009, 1013, 1039, 1001, 9722, 1006, 1049, 1013, 1059, 1013, 1040, 1007, 999, 999, 102])
        #expect(try ids("Registered Nurse (RN) – ICU, night shifts")
            == [101, 5068, 6821, 1006, 29300, 1007, 1516, 24582, 2226, 1010, 2305, 12363, 102])
    }

    @Test("unknown words are split into known pieces, or become [UNK] when no piece fits")
    func unknownWords() throws {
        #expect(try ids("unaffable xyzzyqq 日本語") == [101, 14477, 20961, 3468, 1060, 2100, 28753, 4160, 4160, 1864, 1876, 1950, 102])
        #expect(try ids("Physician 😀 ☃") == [101, 7522, 100, 100, 102])
        // Past 100 characters a word is [UNK] whatever its pieces; at 100 it is still split.
        #expect(try ids(String(repeating: "x", count: 101)) == [101, 100, 102])
        #expect(try ids(String(repeating: "x", count: 100)) == [101, 22038] + [Int32](repeating: 20348, count: 49) + [102])
    }

    @Test("special tokens written in the text are recognised, empty texts give [CLS] [SEP]")
    func specialTokensAndEmpty() throws {
        #expect(try ids("[CLS] hello[SEP]") == [101, 101, 7592, 102, 102])
        #expect(try ids("") == [101, 102])
        #expect(try ids("  \t\n ") == [101, 102])
    }

    @Test("texts are cut to 256 tokens, [CLS] and [SEP] included")
    func truncation() throws {
        let long = try ids(Array(repeating: "word", count: 400).joined(separator: " "))
        #expect(long.count == 256)
        #expect(long.first == 101 && long.last == 102 && long[1] == 2773 && long[254] == 2773)
        #expect(try ids(Array(repeating: "word", count: 254).joined(separator: " ")).count == 256)
        #expect(try ids(Array(repeating: "word", count: 253).joined(separator: " ")).count == 255)
    }

    @Test("the tokenizer agrees with the reference's on real O*NET and SkillSpan texts")
    func agreesWithReference() throws {
        let texts = try ModelFixture.sampleTexts()
        let reference = try ModelFixture.runReference("tokens", texts)
        let expected = try #require(reference["ids"] as? [[Int]])
        let embedder = try ModelFixture.embedder()
        for (text, ids) in zip(texts, expected) {
            #expect(embedder.tokenizer.encode(text).map(Int.init) == ids, "\(text.prefix(80))")
        }
    }
}
