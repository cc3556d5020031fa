import Foundation
import SentenceEmbedding
import Testing

/// A missing or corrupt model folder is a typed error naming the file and the fault, never a trap.
@Suite("Model loading errors")
struct ModelLoadingTests {
    /// A scratch folder with the real config.json and tokenizer.json and the given weights file.
    func folder(weights: Data?, config: String? = nil) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blacklight-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let source = ModelFixture.directory
        if let config {
            try config.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        } else {
            try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        }
        try FileManager.default.copyItem(at: source.appendingPathComponent("tokenizer.json"), to: dir.appendingPathComponent("tokenizer.json"))
        if let weights { try weights.write(to: dir.appendingPathComponent("model.safetensors")) }
        return dir
    }

    func loadError(_ dir: URL) -> SentenceEmbeddingError? {
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            _ = try SentenceEmbedder.load(directory: dir)
            return nil
        } catch {
            return error as? SentenceEmbeddingError
        }
    }

    /// A safetensors file with the given header JSON and data bytes.
    func safetensors(_ header: String, data: Int = 0) -> Data {
        var length = UInt64(header.utf8.count).littleEndian
        var bytes = Data(bytes: &length, count: 8)
        bytes.append(Data(header.utf8))
        bytes.append(Data(count: data))
        return bytes
    }

    @Test("a folder without the model says which file is missing")
    func missingFolder() {
        let error = loadError(URL(fileURLWithPath: "/nonexistent/blacklight-model"))
        #expect(error?.code == .missingFile)
        #expect(error?.file == "/nonexistent/blacklight-model/config.json")
    }

    @Test("a missing weights file is missingFile")
    func missingWeights() throws {
        let error = loadError(try folder(weights: nil))
        #expect(error?.code == .missingFile)
        #expect(error?.file.hasSuffix("model.safetensors") == true)
    }

    @Test("truncated and malformed weights are malformedFile with the reason")
    func malformedWeights() throws {
        #expect(loadError(try folder(weights: Data([1, 2, 3])))?.reason == "3 bytes, too short for a safetensors header")
        let huge = loadError(try folder(weights: Data([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0x7B])))
        #expect(huge?.code == .malformedFile)
        #expect(huge?.reason.contains("the header claims 4294967295 bytes") == true)
        #expect(loadError(try folder(weights: safetensors("[1, 2]")))?.reason == "the header is not a JSON object")
        let outside = loadError(try folder(weights: safetensors(#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#, data: 4)))
        #expect(outside?.reason == "tensor a has data_offsets [0, 8] outside the 4 data bytes")
    }

    @Test("weights of another shape or type are unsupportedModel naming the tensor")
    func wrongTensors() throws {
        let missing = loadError(try folder(weights: safetensors("{}")))
        #expect(missing?.code == .unsupportedModel)
        #expect(missing?.reason == "tensor embeddings.word_embeddings.weight is missing")
        let shape = loadError(try folder(weights: safetensors(
            #"{"embeddings.word_embeddings.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}"#, data: 16)))
        #expect(shape?.reason == "tensor embeddings.word_embeddings.weight has shape [2, 2], expected [30522, 384]")
        let type = loadError(try folder(weights: safetensors(
            #"{"embeddings.word_embeddings.weight": {"dtype": "F16", "shape": [30522, 384], "data_offsets": [0, 0]}}"#)))
        #expect(type?.reason == "tensor embeddings.word_embeddings.weight is F16, expected F32")
    }

    @Test("a config the encoder does not implement is refused when loading")
    func unsupportedConfig() throws {
        let gelu = loadError(try folder(weights: nil, config: #"{"model_type": "bert", "hidden_act": "relu"}"#))
        #expect(gelu?.code == .unsupportedModel)
        #expect(gelu?.reason == "hidden_act is relu, only gelu (the exact one) is implemented")
        let json = loadError(try folder(weights: nil, config: "not json"))
        #expect(json?.code == .malformedFile)
    }
}
