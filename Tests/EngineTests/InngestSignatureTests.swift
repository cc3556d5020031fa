import Engine
import Testing

/// The Inngest protocol's hashes, against values Python's hashlib and hmac give (what the SDK computes).
@Suite("Inngest signatures and step ids")
struct InngestSignatureTests {
    @Test("a step's id is the hex SHA-1 of its key, as the SDK's step_lib hashes it")
    func stepID() {
        #expect(InngestSignature.stepID("fetch:1") == "7439251a62fbdcb568e9e9bf2f2ade00999ebbb1")
    }

    @Test("the signature is HMAC-SHA256 keyed with the key minus its signkey- prefix, over the body and the time")
    func signature() {
        let body = Array(#"{"a":1}"#.utf8)
        let header = InngestSignature.sign(body, key: "signkey-test-abc", time: 1_700_000_000)
        #expect(header == "t=1700000000&s=983c627598d14adbc95a0e9d67d16a1e18f0012fc3e70a031ed1b25ed78e0d62")
        #expect(InngestSignature.verify(body, header: header, key: "signkey-test-abc"))
        #expect(InngestSignature.hashedKey("signkey-prod-" + String(repeating: "8f3a", count: 16))
                == "d34d20f65fb2c167df55546ad21979ef997d43658660f5dea9d60d6ad49f9fbf")
    }

    @Test("a missing, malformed, tampered or differently keyed signature does not verify")
    func refused() {
        let body = Array(#"{"a":1}"#.utf8)
        let header = InngestSignature.sign(body, key: "signkey-test-abc", time: 1_700_000_000)
        #expect(!InngestSignature.verify(body, header: nil, key: "signkey-test-abc"))
        #expect(!InngestSignature.verify(body, header: "", key: "signkey-test-abc"))
        #expect(!InngestSignature.verify(body, header: "t=x&s=00", key: "signkey-test-abc"))
        #expect(!InngestSignature.verify(body, header: String(header.dropLast()), key: "signkey-test-abc"))
        #expect(!InngestSignature.verify(Array(#"{"a":2}"#.utf8), header: header, key: "signkey-test-abc"))
        #expect(!InngestSignature.verify(body, header: header, key: "signkey-test-abd"))
        #expect(InngestSignature.hashedKey("signkey-test-not-hex") == nil)
    }
}
