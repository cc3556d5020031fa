import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import VectorScoring

/// Where embeddings come from: the built-in local embedder (deterministic, no network) by default,
/// or an OpenAI-compatible HTTP endpoint when BLACKLIGHT_EMBEDDINGS_URL is set.
public enum EmbeddingProvider: Sendable {
    case local(LocalEmbedder)
    case openAI(url: URL, model: String, apiKey: String?, dimension: Int)

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> EmbeddingProvider {
        let dimension = env["BLACKLIGHT_EMBEDDING_DIMENSION"].flatMap(Int.init) ?? 384
        if let raw = env["BLACKLIGHT_EMBEDDINGS_URL"], let url = URL(string: raw) {
            return .openAI(url: url, model: env["BLACKLIGHT_EMBEDDINGS_MODEL"] ?? "text-embedding-3-small",
                           apiKey: env["BLACKLIGHT_EMBEDDINGS_API_KEY"], dimension: dimension)
        }
        return .local(LocalEmbedder(dimension: dimension))
    }

    public var name: String {
        switch self {
        case .local(let e): return "local:\(e.dimension)"
        case .openAI(let url, let model, _, _): return "openai:\(model)@\(url.host ?? "?")"
        }
    }

    /// Embeds texts (with their skills, which the local embedder weights higher); normalised vectors.
    public func embed(_ inputs: [(text: String, skills: [String])]) throws -> [Vector] {
        switch self {
        case .local(let embedder):
            return inputs.count > 64 ? embedder.embed(batch: inputs) : inputs.map { embedder.embed($0.text, skills: $0.skills) }
        case .openAI(let url, let model, let key, let dimension):
            return try OpenAIEmbeddings(url: url, model: model, apiKey: key, dimension: dimension).embed(inputs.map { input in
                input.skills.isEmpty ? input.text : input.text + "\nSkills: " + input.skills.joined(separator: ", ")
            })
        }
    }
}

/// POST {base}/embeddings {"model", "input": [...]} → {"data": [{"embedding": [...], "index": n}]}.
struct OpenAIEmbeddings {
    let url: URL
    let model: String
    let apiKey: String?
    let dimension: Int

    func embed(_ texts: [String]) throws -> [Vector] {
        if texts.isEmpty { return [] }
        var request = URLRequest(url: url.appendingPathComponent("embeddings"))
        request.httpMethod = "POST"
        request.timeoutInterval = 60
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        request.httpBody = try JSONSerialization.data(withJSONObject: ["model": model, "input": texts])
        let box = ResponseBox()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            box.set(data, (response as? HTTPURLResponse)?.statusCode, error)
            done.signal()
        }.resume()
        done.wait()
        let (data, status, error) = box.get()
        if let error { throw MatchingError("embedding provider \(url): \(error.localizedDescription)") }
        guard let data, let status else { throw MatchingError("embedding provider \(url): no response") }
        guard status == 200 else {
            let body = String(decoding: data.prefix(300), as: UTF8.self)
            throw MatchingError("embedding provider \(url) answered \(status): \(body)")
        }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let items = object["data"] as? [[String: Any]] else {
            throw MatchingError("embedding provider \(url): the answer has no 'data' list")
        }
        var out = [Vector?](repeating: nil, count: texts.count)
        for (i, item) in items.enumerated() {
            let index = item["index"] as? Int ?? i
            guard index >= 0, index < texts.count, let values = item["embedding"] as? [Double] else {
                throw MatchingError("embedding provider \(url): item \(i) has no 'embedding' numbers")
            }
            // A vector of another dimension would fail every later vec.* call, far from its cause.
            guard values.count == dimension else {
                throw MatchingError("embedding provider \(url): item \(i) has \(values.count) numbers, expected \(dimension) "
                                    + "(BLACKLIGHT_EMBEDDING_DIMENSION)")
            }
            out[index] = Vector(values.map(Float.init)).normalized()
        }
        return try out.enumerated().map { i, v in
            guard let v else { throw MatchingError("embedding provider \(url): no embedding for input \(i)") }
            return v
        }
    }
}

private final class ResponseBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (Data?, Int?, Error?) = (nil, nil, nil)
    func set(_ d: Data?, _ s: Int?, _ e: Error?) { lock.lock(); value = (d, s, e); lock.unlock() }
    func get() -> (Data?, Int?, Error?) { lock.lock(); defer { lock.unlock() }; return value }
}
