import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import PGStore
import SentenceEmbedding
import Synchronization
import VectorScoring

/// Where embeddings come from:
/// - `sentence`: the native sentence model (all-MiniLM-L6-v2, SentenceEmbedding), the default when its files are in
///   the model folder (`bin/fetch-model` puts them there);
/// - `local`: the built-in hashing embedder (words, bigrams, trigrams, skills; no model), the fallback when the model
///   is missing or cannot be loaded, and what `BLACKLIGHT_EMBEDDER=hashing` asks for;
/// - `openAI`: an OpenAI-compatible HTTP endpoint, when BLACKLIGHT_EMBEDDINGS_URL is set.
public enum EmbeddingProvider: Sendable {
    case sentence(SentenceEmbedder)
    case local(LocalEmbedder)
    case openAI(url: URL, model: String, apiKey: String?, dimension: Int)

    /// The model folder used when BLACKLIGHT_MODEL_DIR is not set, relative to the project (or repository) root.
    public static let defaultModelPath = ".blacklight/models/all-minilm-l6-v2"
    /// The version of the hashing embedder's features (part of its identity; bump it when they change).
    static let hashingVersion = 1

    /// The provider the environment asks for, with the reason when the sentence model was wanted but is not used.
    public struct Resolution: Sendable {
        public var provider: EmbeddingProvider
        /// Why the hashing embedder stands in for the sentence model (missing files, a corrupt file); nil otherwise.
        public var fallbackReason: String?
    }

    /// The provider for this process (see `resolve`); a fallback is logged once per reason.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment,
                                       root: URL? = nil) -> EmbeddingProvider {
        let resolution = resolve(env, root: root)
        if let reason = resolution.fallbackReason { ModelRegistry.shared.logOnce(reason) }
        return resolution.provider
    }

    /// Chooses the provider: BLACKLIGHT_EMBEDDINGS_URL → the HTTP endpoint; BLACKLIGHT_EMBEDDER=hashing → the hashing
    /// embedder; otherwise the sentence model from BLACKLIGHT_MODEL_DIR, else `<root>/.blacklight/models/all-minilm-l6-v2`
    /// (root: the given project folder, the current folder, and the folders above the executable, which lives in the
    /// repository's .build/), falling back to the hashing embedder with the reason. A model is loaded once per process.
    public static func resolve(_ env: [String: String] = ProcessInfo.processInfo.environment,
                               root: URL? = nil) -> Resolution {
        let dimension = env["BLACKLIGHT_EMBEDDING_DIMENSION"].flatMap(Int.init) ?? 384
        if let raw = env["BLACKLIGHT_EMBEDDINGS_URL"], let url = URL(string: raw) {
            return Resolution(provider: .openAI(url: url, model: env["BLACKLIGHT_EMBEDDINGS_MODEL"] ?? "text-embedding-3-small",
                                                apiKey: env["BLACKLIGHT_EMBEDDINGS_API_KEY"], dimension: dimension))
        }
        let hashing = EmbeddingProvider.local(LocalEmbedder(dimension: max(1, dimension)))
        switch env["BLACKLIGHT_EMBEDDER"]?.lowercased() ?? "auto" {
        case "hashing", "local": return Resolution(provider: hashing)
        case "auto", "minilm", "sentence", "": break
        case let other:
            return Resolution(provider: hashing, fallbackReason: "BLACKLIGHT_EMBEDDER=\(other) is not one of auto, minilm, hashing; "
                              + "using the hashing embedder")
        }
        let directory = modelDirectory(env, root: root)
        switch ModelRegistry.shared.load(directory) {
        case .success(let embedder):
            return Resolution(provider: .sentence(embedder))
        case .failure(let error):
            let hint = error.code == .missingFile ? " (run bin/fetch-model, or set BLACKLIGHT_MODEL_DIR)" : ""
            return Resolution(provider: hashing, fallbackReason: "sentence model not used, \(error)\(hint); "
                              + "embeddings come from the hashing embedder, which matches shared words only")
        }
    }

    /// BLACKLIGHT_MODEL_DIR, else the first of the candidate roots holding the default model folder, else the default
    /// folder under the first root (where bin/fetch-model puts it, and where the error then points).
    public static func modelDirectory(_ env: [String: String], root: URL?) -> URL {
        if let path = env["BLACKLIGHT_MODEL_DIR"], !path.isEmpty { return URL(fileURLWithPath: path) }
        var roots = [root ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        var dir = (Bundle.main.executableURL ?? roots[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            roots.append(dir)
            dir = dir.deletingLastPathComponent()
        }
        let candidates = roots.map { $0.appendingPathComponent(defaultModelPath) }
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("model.safetensors").path) }
            ?? candidates[0]
    }

    /// What `embed.provider()` answers: `minilm:all-minilm-l6-v2`, `hashing:384` or `openai:MODEL@HOST`.
    public var name: String {
        switch self {
        case .sentence(let e): return "minilm:\(e.name)"
        case .local(let e): return "hashing:\(e.dimension)"
        case .openAI(let url, let model, _, _): return "openai:\(model)@\(url.host ?? "?")"
        }
    }

    /// Names the embedder and version that produce this provider's vectors; stored with each vector
    /// (`embedding_model`), so `backfill-embeddings` can find the vectors another embedder made. E.g.
    /// `all-minilm-l6-v2@1:53aa5117`, `hashing-384@1`, `openai:text-embedding-3-small/1536`.
    public var identity: String {
        switch self {
        case .sentence(let e): return e.identity
        case .local(let e): return "hashing-\(e.dimension)@\(Self.hashingVersion)"
        case .openAI(_, let model, _, let dimension): return "openai:\(model)/\(dimension)"
        }
    }

    /// The length of the vectors.
    public var dimension: Int {
        switch self {
        case .sentence(let e): return e.dimension
        case .local(let e): return e.dimension
        case .openAI(_, _, _, let d): return d
        }
    }

    /// Embeds texts (with their skills, which the hashing embedder weights higher); normalised vectors.
    public func embed(_ inputs: [(text: String, skills: [String])]) throws -> [Vector] {
        switch self {
        case .sentence(let embedder):
            return embedder.embed(inputs.map(Self.sentenceText)).map { Vector($0) }
        case .local(let embedder):
            return inputs.count > 64 ? embedder.embed(batch: inputs) : inputs.map { embedder.embed($0.text, skills: $0.skills) }
        case .openAI(let url, let model, let key, let dimension):
            return try OpenAIEmbeddings(url: url, model: model, apiKey: key, dimension: dimension).embed(inputs.map { input in
                input.skills.isEmpty ? input.text : input.text + "\nSkills: " + input.skills.joined(separator: ", ")
            })
        }
    }

    /// Names this provider to the connection's session, so the embeddings it writes from Swift (demo data, benchmarks)
    /// record their embedder as the workflows' do (see 0002_embedding_model.sql).
    public func recordEmbedder(on conn: PGConnection) throws {
        try conn.exec("SELECT set_config('blacklight.embedding_model', $1, false)", [.text(identity)])
    }

    /// The text the sentence model sees: skills go right after the first line (a job's title, a candidate's headline)
    /// rather than at the end, because the model reads 256 tokens and a posting's description alone is often longer.
    static func sentenceText(_ input: (text: String, skills: [String])) -> String {
        guard !input.skills.isEmpty else { return input.text }
        let skills = "Skills: " + input.skills.joined(separator: ", ")
        guard let newline = input.text.firstIndex(of: "\n") else { return input.text + "\n" + skills }
        return String(input.text[..<newline]) + "\n" + skills + String(input.text[newline...])
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
