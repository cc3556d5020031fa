import Foundation
import Glibc
@testable import Matching
import VectorScoring
import Testing

/// A one-route OpenAI-compatible embeddings endpoint on a loopback socket, served from a thread of
/// this process (a child-process server made Foundation's Process wait forever here).
final class FakeEmbeddingsServer: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0, listen(fd, 8) == 0 else {
            port = 0
            throw MatchingError("cannot listen on loopback")
        }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                Self.answer(client)
                close(client)
            }
        }
    }

    static func answer(_ client: Int32) {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { break }
            data += buffer[0..<n]
            let text = String(decoding: data, as: UTF8.self)
            guard let split = text.range(of: "\r\n\r\n") else { continue }
            let head = String(text[..<split.lowerBound]).lowercased()
            let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            let body = String(text[split.upperBound...])
            if body.utf8.count < length { continue }
            let response: String
            if !head.contains("authorization: bearer k1") {
                response = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 7\r\nConnection: close\r\n\r\nbad key"
            } else {
                let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
                let inputs = object?["input"] as? [String] ?? []
                let items = inputs.enumerated().map { "{\"index\":\($0.offset),\"embedding\":[\(Double($0.element.count)),1.0,0.0]}" }
                let json = "{\"data\":[\(items.joined(separator: ","))]}"
                response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\nConnection: close\r\n\r\n\(json)"
            }
            _ = response.withCString { write(client, $0, strlen($0)) }
            return
        }
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}

@Suite("Embedding providers")
struct EmbeddingProviderTests {
    @Test("the OpenAI-compatible provider calls the configured endpoint over HTTP and reports its errors")
    func openAIProvider() throws {
        let server = try FakeEmbeddingsServer()
        let provider = EmbeddingProvider.fromEnvironment([
            "BLACKLIGHT_EMBEDDINGS_URL": "http://127.0.0.1:\(server.port)/v1", "BLACKLIGHT_EMBEDDINGS_API_KEY": "k1",
            "BLACKLIGHT_EMBEDDING_DIMENSION": "3",
        ])
        #expect(provider.name == "openai:text-embedding-3-small@127.0.0.1")
        let vectors = try provider.embed([("abc", []), ("abcdef", [])])
        #expect(vectors.count == 2)
        #expect(abs(vectors[0].values[0] - 3 / Float(10).squareRoot()) < 1e-5)  // [3, 1, 0] normalised
        #expect(abs(vectors[1].values[0] - 6 / Float(37).squareRoot()) < 1e-5)
        let wrong = EmbeddingProvider.fromEnvironment(["BLACKLIGHT_EMBEDDINGS_URL": "http://127.0.0.1:\(server.port)/v1"])
        do {
            _ = try wrong.embed([("x", [])])
            Issue.record("expected a 401 error")
        } catch {
            #expect("\(error)".contains("answered 401: bad key"))
        }
    }

    @Test("BLACKLIGHT_EMBEDDER=hashing asks for the hashing embedder, model or not")
    func hashingOnRequest() throws {
        let resolution = EmbeddingProvider.resolve(["BLACKLIGHT_EMBEDDER": "hashing",
                                                    "BLACKLIGHT_MODEL_DIR": MatchingFixture.modelDirectory.path])
        #expect(resolution.provider.name == "hashing:384" && resolution.fallbackReason == nil)
        #expect(resolution.provider.identity == "hashing-384@1")
        let v = try resolution.provider.embed([("python developer", ["Python"])])
        #expect(v.first?.dimension == 384)
    }

    @Test("without configuration the sentence model is used when its files are there")
    func sentenceModelByDefault() throws {
        let resolution = EmbeddingProvider.resolve(["BLACKLIGHT_MODEL_DIR": MatchingFixture.modelDirectory.path])
        #expect(resolution.fallbackReason == nil, "\(resolution.fallbackReason ?? "")")
        let provider = resolution.provider
        #expect(provider.name == "minilm:all-minilm-l6-v2")
        #expect(provider.identity.hasPrefix("all-minilm-l6-v2@1:"))
        #expect(provider.dimension == 384)
        let v = try provider.embed([("Physician", []), ("Doctor", []), ("Carpenter", [])])
        #expect(v.count == 3 && v[0].dimension == 384)
        let doctor = try VectorMath.cosine(v[0], v[1]), carpenter = try VectorMath.cosine(v[0], v[2])
        #expect(doctor > 0.8 && carpenter < 0.5)
        // The default folder is found from the project root too.
        let fromRoot = EmbeddingProvider.resolve([:], root: MatchingFixture.repo)
        #expect(fromRoot.provider.name == "minilm:all-minilm-l6-v2")
    }

    @Test("without the model the hashing embedder stands in, and the reason names the missing file and the fix")
    func fallbackWhenModelIsMissing() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("blacklight-no-model-\(UUID().uuidString)")
        let resolution = EmbeddingProvider.resolve(["BLACKLIGHT_MODEL_DIR": empty.path])
        #expect(resolution.provider.name == "hashing:384")
        let reason = try #require(resolution.fallbackReason)
        #expect(reason.contains("\(empty.path)/config.json: no such file"))
        #expect(reason.contains("run bin/fetch-model"))
        #expect(try resolution.provider.embed([("python developer", ["Python"])]).first?.dimension == 384)
        // A corrupt weights file is a reason too, not a crash. (Another folder: a process remembers what it found.)
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("blacklight-broken-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: broken) }
        for file in ["config.json", "tokenizer.json"] {
            try FileManager.default.copyItem(at: MatchingFixture.modelDirectory.appendingPathComponent(file),
                                             to: broken.appendingPathComponent(file))
        }
        try Data([1, 2, 3, 4, 5, 6, 7, 8, 9]).write(to: broken.appendingPathComponent("model.safetensors"))
        let corrupt = EmbeddingProvider.resolve(["BLACKLIGHT_MODEL_DIR": broken.path])
        #expect(corrupt.provider.name == "hashing:384")
        #expect(corrupt.fallbackReason?.contains("model.safetensors: the header claims") == true)
    }

    @Test("the sentence model reads a text's skills right after its first line")
    func skillsAfterTheFirstLine() {
        #expect(EmbeddingProvider.sentenceText(("Nurse\nNight shifts in the ICU", ["Triage", "IV therapy"]))
            == "Nurse\nSkills: Triage, IV therapy\nNight shifts in the ICU")
        #expect(EmbeddingProvider.sentenceText(("Nurse", ["Triage"])) == "Nurse\nSkills: Triage")
        #expect(EmbeddingProvider.sentenceText(("Nurse", [])) == "Nurse")
    }
}
