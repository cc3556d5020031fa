import Testing
@testable import BlacklightCore

@Suite("JSONValue parse errors name the problem and the offset")
struct JSONValueParsingErrorTests {
    /// The error `text` fails with; records an issue when it parses.
    private func failure(_ text: String) -> JSONError? {
        do {
            let value = try JSONValue.parse(text)
            Issue.record("expected \(text) to fail, parsed \(value)")
            return nil
        } catch {
            return error
        }
    }

    @Test("unexpected characters", arguments: [
        (#"{"a": x}"#, "unexpected character 'x' at offset 6", 6),
        ("1 2", "unexpected character '2' at offset 2", 2),
        ("01", "unexpected character '1' at offset 1", 1),
        ("[1,]", "unexpected character ']' at offset 3", 3),
        (#"{"a" 1}"#, "unexpected character '1' at offset 5", 5),
        ("{1:2}", "unexpected character '1' at offset 1", 1),
        ("trux", "unexpected character 'x' at offset 3", 3),
        ("1.e5", "unexpected character 'e' at offset 2", 2),
        ("+1", "unexpected character '+' at offset 0", 0),
        ("[1 2]", "unexpected character '2' at offset 3", 3),
        ("\u{1}", "unexpected character U+0001 at offset 0", 0),
        ("é", "unexpected character 'é' (U+00E9) at offset 0", 0),
    ])
    func unexpectedCharacter(text: String, message: String, offset: Int) {
        let error = failure(text)
        #expect(error?.message == message)
        #expect(error?.offset == offset)
        #expect(error?.description == message)
    }

    @Test("unexpected end of input", arguments: [
        ("", 0), ("   ", 3), ("[1, 2", 5), ("tru", 3), ("1.", 2), ("-", 1), ("1e+", 3), (#"{"a":"#, 5),
    ])
    func endOfInput(text: String, offset: Int) {
        let error = failure(text)
        #expect(error?.message == "unexpected end of input at offset \(offset)")
        #expect(error?.offset == offset)
    }

    @Test("string errors", arguments: [
        (#""abc"#, "unterminated string starting at offset 0"),
        (#"["ab\"#, "unterminated string starting at offset 1"),
        (#""a\qb""#, #"invalid escape '\q' at offset 2"#),
        (#""\u12G4""#, "invalid unicode escape at offset 1"),
        (#""\u12""#, "invalid unicode escape at offset 1"),
        (#""\ud83d""#, #"unpaired surrogate \uD83D at offset 1"#),
        (#""\ud83d\u0041""#, #"unpaired surrogate \uD83D at offset 1"#),
        (#""\ude00""#, #"unpaired surrogate \uDE00 at offset 1"#),
        ("\"a\nb\"", "unescaped control character U+000A in string at offset 2"),
        ("\"a\\n\tb\"", "unescaped control character U+0009 in string at offset 4"),
    ])
    func stringErrors(text: String, message: String) {
        #expect(failure(text)?.message == message)
    }

    @Test("nesting is limited so recursion cannot overflow the stack")
    func nestingLimit() {
        let error = failure(String(repeating: "[", count: 600))
        #expect(error?.message == "nesting deeper than 512 levels at offset 512")
        let deepButFine = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect((try? JSONValue.parse(deepButFine)) != nil)
    }

    @Test("invalid UTF-8 in raw bytes is an error")
    func invalidUTF8() {
        #expect(throws: JSONError(message: "invalid UTF-8 in string at offset 1", offset: 1)) {
            try JSONValue.parse(bytes: [0x22, 0xFF, 0x22] as [UInt8])
        }
        #expect(throws: JSONError(message: "unexpected character byte 0xFF at offset 0", offset: 0)) {
            try JSONValue.parse(bytes: [0xFF] as [UInt8])
        }
    }
}
