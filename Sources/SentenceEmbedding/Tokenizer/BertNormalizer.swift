import Foundation

/// BERT's text normalisation and pre-tokenisation, the steps of Hugging Face's `BertNormalizer` and
/// `BertPreTokenizer` in their order: drop NUL, U+FFFD and control characters and turn whitespace into spaces, put
/// spaces around CJK ideographs, decompose (NFD) and drop non-spacing marks ("é" → "e"), lowercase; then split on
/// whitespace and make every punctuation character a word of its own.
///
/// Texts that are all ASCII (most job texts) take a byte loop with the same result; others go through Unicode
/// properties and Foundation's NFD.
struct BertNormalizer: Sendable {
    var cleanText = true
    var handleChineseCharacters = true
    var stripAccents = true
    var lowercase = true

    /// The bytes of one word and the byte offset where each of its characters (Unicode scalars) starts, plus its end:
    /// WordPiece splits at those offsets and counts characters against its per-word limit.
    struct Word {
        var bytes: [UInt8] = []
        var boundaries: [Int] = [0]

        mutating func reset() {
            bytes.removeAll(keepingCapacity: true)
            boundaries.removeAll(keepingCapacity: true)
            boundaries.append(0)
        }

        mutating func append(byte: UInt8) {
            bytes.append(byte)
            boundaries.append(bytes.count)
        }

        mutating func append(_ scalar: Unicode.Scalar) {
            UTF8.encode(scalar) { bytes.append($0) }
            boundaries.append(bytes.count)
        }

        var isEmpty: Bool { bytes.isEmpty }
    }

    /// Calls `body` with each word of `text`, in order, until it returns false.
    func forEachWord(_ text: Substring, _ body: (inout Word) -> Bool) {
        var word = Word()
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            asciiWords(text.utf8, &word, body)
        } else {
            unicodeWords(normalized(text), &word, body)
        }
    }

    // MARK: ASCII

    private func asciiWords(_ bytes: Substring.UTF8View, _ word: inout Word, _ body: (inout Word) -> Bool) {
        func flush() -> Bool {
            guard !word.isEmpty else { return true }
            defer { word.reset() }
            return body(&word)
        }
        for var b in bytes {
            let whitespace = b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
            // NUL and the other C0 controls and DEL are dropped (they do not split words, as in BertNormalizer).
            if !whitespace && (b < 0x20 || b == 0x7F) {
                if cleanText { continue }
            }
            if whitespace {
                guard flush() else { return }
            } else if Self.isASCIIPunctuation(b) {
                guard flush() else { return }
                word.append(byte: b)
                guard flush() else { return }
            } else {
                if lowercase && b >= 0x41 && b <= 0x5A { b += 0x20 }
                word.append(byte: b)
            }
        }
        _ = flush()
    }

    static func isASCIIPunctuation(_ b: UInt8) -> Bool {
        (b >= 33 && b <= 47) || (b >= 58 && b <= 64) || (b >= 91 && b <= 96) || (b >= 123 && b <= 126)
    }

    // MARK: Unicode

    /// The whole normalisation of a text with non-ASCII characters, as scalars.
    private func normalized(_ text: Substring) -> [Unicode.Scalar] {
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if cleanText {
                if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
                if Self.isWhitespace(scalar) {
                    cleaned.append(" ")
                    continue
                }
            }
            if handleChineseCharacters && Self.isCJK(scalar.value) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(cleaned.count)
        let decomposed = stripAccents ? String(cleaned).decomposedStringWithCanonicalMapping.unicodeScalars : cleaned
        for scalar in decomposed {
            if stripAccents && scalar.properties.generalCategory == .nonspacingMark { continue }
            if lowercase && scalar.properties.changesWhenLowercased {
                scalars.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                scalars.append(scalar)
            }
        }
        return scalars
    }

    private func unicodeWords(_ scalars: [Unicode.Scalar], _ word: inout Word, _ body: (inout Word) -> Bool) {
        func flush() -> Bool {
            guard !word.isEmpty else { return true }
            defer { word.reset() }
            return body(&word)
        }
        for scalar in scalars {
            if Self.isWhitespace(scalar) {
                guard flush() else { return }
            } else if Self.isPunctuation(scalar) {
                guard flush() else { return }
                word.append(scalar)
                guard flush() else { return }
            } else {
                word.append(scalar)
            }
        }
        _ = flush()
    }

    /// Tab, newline and carriage return count as whitespace; other characters of the categories Cc, Cf, Cn, Co and
    /// Cs are removed.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar.properties.isWhitespace
    }

    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 { return isASCIIPunctuation(UInt8(scalar.value)) }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT pads with spaces (not Hangul, Hiragana or Katakana).
    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}
