import Foundation
import Logging
import SentenceEmbedding
import Synchronization

/// Sentence models loaded by this process, one per folder: loading reads and packs ~90 MB (about half a second), and
/// every `EmbeddingProvider.fromEnvironment()` would otherwise pay it again. A failure is remembered too, so a missing
/// model is looked for once, and its reason logged once.
final class ModelRegistry: Sendable {
    static let shared = ModelRegistry()

    private let models = Mutex<[String: Result<SentenceEmbedder, SentenceEmbeddingError>]>([:])
    private let logged = Mutex<Set<String>>([])
    private let log = Logger(label: "blacklight.embeddings")

    func load(_ directory: URL) -> Result<SentenceEmbedder, SentenceEmbeddingError> {
        let key = directory.standardizedFileURL.path
        if let known = models.withLock({ $0[key] }) { return known }
        // Loaded outside the lock: two threads racing here both load, and the first result stays.
        let result: Result<SentenceEmbedder, SentenceEmbeddingError>
        do {
            result = .success(try SentenceEmbedder.load(directory: directory))
        } catch let error as SentenceEmbeddingError {
            result = .failure(error)
        } catch {
            result = .failure(SentenceEmbeddingError(.unreadableFile, file: key, "\(error)"))
        }
        return models.withLock { models in
            if let first = models[key] { return first }
            models[key] = result
            return result
        }
    }

    /// Logs `message` as a warning the first time it is seen in this process.
    func logOnce(_ message: String) {
        guard logged.withLock({ $0.insert(message).inserted }) else { return }
        log.warning("\(message)")
    }
}
