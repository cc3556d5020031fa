import Testing
@testable import BlacklightCore

@Suite("JSONValue values, accessors and serialization")
struct JSONValueTests {
    @Test("numbers keep int versus float by their lexical form")
    func numberKinds() throws {
        #expect(try JSONValue.parse("125") == .int(125))
        #expect(try JSONValue.parse("125.0") == .double(125))
        #expect(try JSONValue.parse("1e3") == .double(1000))
        #expect(try JSONValue.parse("1E-2") == .double(0.01))
        #expect(try JSONValue.parse("-7") == .int(-7))
        #expect(try JSONValue.parse("-0.5") == .double(-0.5))
        #expect(try JSONValue.parse("9223372036854775807") == .int(.max))
        #expect(try JSONValue.parse("-9223372036854775808") == .int(.min))
    }

    @Test("integers beyond Int64 become doubles")
    func bigIntegers() throws {
        #expect(try JSONValue.parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(try JSONValue.parse("-9223372036854775809") == .double(-9_223_372_036_854_775_808.0))
        #expect(try JSONValue.parse("123456789012345678901234567890") == .double(1.2345678901234568e29))
    }

    @Test("round trip keeps int and float apart")
    func roundTripKeepsKinds() throws {
        let value = try JSONValue.parse(#"{"score":125.0,"count":125,"ratio":0.1,"tiny":1e-5,"huge":1.5e300}"#)
        let text = value.serialized()
        #expect(text == #"{"count":125,"huge":1.5e+300,"ratio":0.1,"score":125.0,"tiny":1e-05}"#)
        let again = try JSONValue.parse(text)
        #expect(again == value)
        #expect(again["score"] == .double(125))
        #expect(again["count"] == .int(125))
    }

    @Test("doubles parse to the correctly rounded value on both the fast and the general path")
    func doubleParsingPrecision() throws {
        let samples = ["0.1", "1.37", "70.5", "-0.0", "0.000123", "9007199254740993.0", "1.7976931348623157e308",
                       "5e-324", "123456789.123456789", "1e22", "1e23", "2.5E-3", "0.30000000000000004", "1e-400"]
        for text in samples {
            #expect(try JSONValue.parse(text) == .double(Double(text)!), "\(text)")
        }
        #expect(try JSONValue.parse("-0.0").doubleValue?.sign == .minus)
        // Every double survives serialize → parse bit for bit.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<5000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let bits = Double(bitPattern: state)
            let scaled = Double(state >> 11) / Double(1 << 20)  // ordinary magnitudes with many digits
            for value in [bits, scaled] where value.isFinite {
                #expect(try JSONValue.parse(JSONValue.double(value).serialized()) == .double(value))
            }
        }
    }

    @Test("doubles always serialize with a point or an exponent; non-finite ones as null")
    func doubleSerialization() {
        #expect(JSONValue.double(3).serialized() == "3.0")
        #expect(JSONValue.double(-0.0).serialized() == "-0.0")
        #expect(JSONValue.double(1e16).serialized() == "1e+16")
        #expect(JSONValue.double(.nan).serialized() == "null")
        #expect(JSONValue.double(.infinity).serialized() == "null")
        #expect(JSONValue.array([.double(-.infinity), 1]).serialized() == "[null,1]")
    }

    @Test("serialization is compact with sorted keys")
    func compactSortedKeys() {
        let value: JSONValue = ["b": [1, 2.5, "x"], "a": ["z": .null, "y": true], "c": false]
        #expect(value.serialized() == #"{"a":{"y":true,"z":null},"b":[1,2.5,"x"],"c":false}"#)
        #expect(value.description == value.serialized())
        #expect(JSONValue.object([:]).serialized() == "{}")
        #expect(JSONValue.array([]).serialized() == "[]")
    }

    @Test("strings escape quotes, backslashes and control characters; unicode passes through")
    func stringEscaping() throws {
        let value = JSONValue.string("say \"hi\"\\ \n\t\r\u{8}\u{C}\u{1}\u{1F} é😀 /")
        let text = value.serialized()
        #expect(text == #""say \"hi\"\\ \n\t\r\b\f\u0001\u001f é😀 /""#)
        #expect(try JSONValue.parse(text) == value)
    }

    @Test("escape sequences and surrogate pairs decode")
    func parseEscapes() throws {
        #expect(try JSONValue.parse(#""\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\""#) == .string("é😀/\u{8}\u{C}\n\r\t\"\\"))
        #expect(try JSONValue.parse(#""caf\u00E9 ok""#) == .string("café ok"))
        #expect(try JSONValue.parse(#""plain é 😀""#) == .string("plain é 😀"))
    }

    @Test("containers, literals and whitespace")
    func containers() throws {
        let value = try JSONValue.parse(" {\n\t\"a\" : [ true , false , null ] ,\r\n\"b\":{}, \"c\":[] } ")
        #expect(value == ["a": [true, false, .null], "b": .object([:]), "c": .array([])])
    }

    @Test("duplicate keys keep the last value")
    func duplicateKeys() throws {
        #expect(try JSONValue.parse(#"{"a":1,"a":2}"#) == ["a": 2])
    }

    @Test("parse from bytes, contiguous or not")
    func parseBytes() throws {
        let bytes = Array(#"{"id":[1,2.0]}"#.utf8)
        #expect(try JSONValue.parse(bytes: bytes) == ["id": [1, 2.0]])
        #expect(try JSONValue.parse(bytes: AnyCollection(bytes)) == ["id": [1, 2.0]])
    }

    @Test("a nested document survives serialize and parse unchanged")
    func nestedRoundTrip() throws {
        let value: JSONValue = [
            "event": "job-match/generate-candidate",
            "data": ["candidate_id": 42, "tenant_id": "t-1", "scores": [0.5, 1.0, 70], "nested": [["deep": [.null]]]],
            "ts": 1_717_000_000_123,
        ]
        #expect(try JSONValue.parse(value.serialized()) == value)
    }

    @Test("subscripts and dotted paths")
    func paths() throws {
        let value = try JSONValue.parse(#"{"data":{"candidate_id":7,"items":[{"id":"a"},{"id":"b"}],"0":"zero"}}"#)
        #expect(value["data"]?["candidate_id"] == .int(7))
        #expect(value["missing"] == nil)
        #expect(JSONValue.int(1)["x"] == nil)
        #expect(value.value(atPath: "data.candidate_id") == .int(7))
        #expect(value.value(atPath: "data.items.1.id") == .string("b"))
        #expect(value.value(atPath: "data.items.2.id") == nil)
        #expect(value.value(atPath: "data.items.x") == nil)
        #expect(value.value(atPath: "data.0") == .string("zero"))  // on an object a number is a key
        #expect(value.value(atPath: "data.candidate_id.more") == nil)
        #expect(value.value(atPath: "") == value)
        #expect(value["data"]?["items"]?[0] == ["id": "a"])
    }

    @Test("typed accessors")
    func accessors() {
        #expect(JSONValue.string("s").stringValue == "s")
        #expect(JSONValue.int(3).stringValue == nil)
        #expect(JSONValue.int(3).intValue == 3)
        #expect(JSONValue.double(3).intValue == 3)
        #expect(JSONValue.double(3.5).intValue == nil)
        #expect(JSONValue.double(1e30).intValue == nil)
        #expect(JSONValue.string("3").intValue == nil)
        #expect(JSONValue.int(3).doubleValue == 3.0)
        #expect(JSONValue.double(2.5).doubleValue == 2.5)
        #expect(JSONValue.bool(true).boolValue == true)
        #expect(JSONValue.int(1).boolValue == nil)
        #expect(JSONValue.array([1]).arrayValue == [.int(1)])
        #expect(JSONValue.object(["a": 1]).objectValue == ["a": .int(1)])
        #expect(JSONValue.null.isNull)
        #expect(JSONValue.null.objectValue == nil)
    }
}
