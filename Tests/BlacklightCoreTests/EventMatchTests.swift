import Testing
import BlacklightCore

@Suite("jsonContains and jsonEquals")
struct EventMatchTests {
    let event: JSONValue = [
        "candidate_id": 7, "tenant_id": "t-1", "trigger": "manual", "score": 70.0,
        "tags": ["remote", "senior", 3], "profile": ["city": "Paris", "langs": ["fr", "en"]], "note": .null,
    ]

    @Test("a subset of members is contained")
    func subset() {
        #expect(jsonContains(event, ["tenant_id": "t-1"]))
        #expect(jsonContains(event, ["tenant_id": "t-1", "trigger": "manual"]))
        #expect(jsonContains(event, [:]))
        #expect(jsonContains(event, event))
    }

    @Test("a different value or missing member is not contained")
    func mismatch() {
        #expect(!jsonContains(event, ["tenant_id": "t-2"]))
        #expect(!jsonContains(event, ["missing": 1]))
        #expect(!jsonContains(event, ["candidate_id": "7"]))
        #expect(!jsonContains(event, ["note": false]))
        #expect(jsonContains(event, ["note": .null]))
    }

    @Test("objects nest recursively")
    func nested() {
        #expect(jsonContains(event, ["profile": ["city": "Paris"]]))
        #expect(!jsonContains(event, ["profile": ["city": "Lyon"]]))
        #expect(!jsonContains(event, ["profile": "Paris"]))
    }

    @Test("arrays: every filter element is in the data array, in any order")
    func arrays() {
        #expect(jsonContains(event, ["tags": ["senior"]]))
        #expect(jsonContains(event, ["tags": ["senior", "remote"]]))
        #expect(jsonContains(event, ["tags": []]))
        #expect(jsonContains(event, ["tags": [3.0]]))
        #expect(!jsonContains(event, ["tags": ["junior"]]))
        #expect(jsonContains(event, ["profile": ["langs": ["en"]]]))
        #expect(jsonContains([["a": 1, "b": 2], ["a": 3]], [["a": 3]]))
        #expect(!jsonContains(event, ["tags": "senior"]))  // nested: an array does not contain a bare scalar
    }

    @Test("at the top level an array contains one of its scalars, as in PostgreSQL")
    func topLevelScalar() {
        #expect(jsonContains(["a", "b"], "a"))
        #expect(!jsonContains(["a", "b"], "c"))
        #expect(!jsonContains("a", ["a"]))
    }

    @Test("int and double of the same value are equal")
    func numericEquality() {
        #expect(jsonContains(event, ["candidate_id": 7.0]))
        #expect(jsonContains(event, ["score": 70]))
        #expect(!jsonContains(event, ["score": 70.5]))
        #expect(!jsonContains(["n": .int(9_007_199_254_740_993)], ["n": .double(9_007_199_254_740_992)]))
    }

    @Test("scalars compare directly")
    func scalars() {
        #expect(jsonContains(1, 1.0))
        #expect(!jsonContains(true, 1))
        #expect(jsonContains(.null, .null))
        #expect(!jsonContains(["a": 1], ["a", 1]))
    }

    @Test("jsonEquals is deep equality with numeric equivalence")
    func equality() {
        #expect(jsonEquals(["a": [1, 2.0]], ["a": [1.0, 2]]))
        #expect(!jsonEquals(["a": [1, 2]], ["a": [2, 1]]))
        #expect(!jsonEquals(["a": 1], ["a": 1, "b": 2]))
        #expect(!jsonEquals(["a": 1, "c": 2], ["a": 1, "b": 2]))
        #expect(jsonEquals("x", "x"))
        #expect(!jsonEquals(1, "1"))
    }
}
