/// Splits text into lowercase word tokens, working on UTF-8 bytes.
///
/// Letters and digits (ASCII, lowercased) and every non-ASCII byte (so accented and non-Latin words stay
/// whole) form words; everything else separates them, except where skills need it:
/// - a run of `+` or `#` right after a word belongs to it: `C++`, `C#`, `F#`, `g++`;
/// - a `.` between two word characters belongs to the word: `node.js`, `asp.net`, `3.5`;
/// - a `.` that starts a word before a letter belongs to it: `.NET`.
/// A sentence's final `.` does not (`Python.` is `python`). `-`, `/`, `_` separate: `CI/CD` is `ci`, `cd`.
struct TextTokenizer {
    /// Calls `body(lowered, range)` for each token: `lowered` is the lowercased copy of `text`, `range` the
    /// token's bytes in it (the same positions as in `text`).
    static func forEachToken(_ text: UnsafeBufferPointer<UInt8>, lowered: inout [UInt8],
                             _ body: (UnsafeBufferPointer<UInt8>, Range<Int>) -> Void) {
        let n = text.count
        if lowered.count < n { lowered = [UInt8](repeating: 0, count: max(n, 2 * lowered.count)) }
        lowered.withUnsafeMutableBufferPointer { out in
            for i in 0..<n {
                let c = text[i]
                out[i] = c &- 65 < 26 ? c | 0x20 : c
            }
            let s = UnsafeBufferPointer(rebasing: out[0..<n])
            var i = 0
            while i < n {
                let c = s[i]
                let dotWord = c == 46 && i + 1 < n && isLetter(s[i + 1]) && (i == 0 || !isWord(s[i - 1]))
                guard isWord(c) || dotWord else {
                    i += 1
                    continue
                }
                let start = i
                i += 1
                while true {
                    while i < n, isWord(s[i]) { i += 1 }
                    if i + 1 < n, s[i] == 46, isWord(s[i + 1]) {
                        i += 1
                        continue
                    }
                    break
                }
                while i < n, s[i] == 43 || s[i] == 35 { i += 1 }  // + #
                body(s, start..<i)
            }
        }
    }

    /// The tokens of `text` as strings (for tests and debugging).
    static func tokens(_ text: String) -> [String] {
        var lowered: [UInt8] = []
        var result: [String] = []
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { b in
            forEachToken(b, lowered: &lowered) { s, r in
                result.append(String(decoding: UnsafeBufferPointer(rebasing: s[r]), as: UTF8.self))
            }
        }
        return result
    }

    @inline(__always)
    static func isWord(_ c: UInt8) -> Bool {
        c &- 97 < 26 || c &- 48 < 10 || c >= 0x80
    }

    @inline(__always)
    static func isLetter(_ c: UInt8) -> Bool {
        c &- 97 < 26 || c >= 0x80
    }
}
