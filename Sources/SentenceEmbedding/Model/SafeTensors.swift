import Foundation

/// A `model.safetensors` file: an 8-byte little-endian header length, a JSON header naming each tensor's type, shape
/// and byte range, then the raw little-endian data. The file is memory-mapped; tensors are copied out on request, after
/// their type, shape and range have been checked against the header and the file's size.
struct SafeTensors {
    struct Tensor {
        var dtype: String
        var shape: [Int]
        /// Byte range within the file.
        var bytes: Range<Int>
    }

    let path: String
    let data: Data
    let tensors: [String: Tensor]
    /// The header's JSON bytes (part of the model's fingerprint).
    let header: Data

    /// Headers of real models are tens of kilobytes; a length past this is a corrupt file, not a big model.
    static let maximumHeaderBytes = 64 << 20

    init(contentsOf url: URL) throws {
        path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw SentenceEmbeddingError(.missingFile, file: path, "no such file")
        }
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SentenceEmbeddingError(.unreadableFile, file: path, "cannot be read: \(error.localizedDescription)")
        }
        guard data.count >= 8 else {
            throw SentenceEmbeddingError(.malformedFile, file: path, "\(data.count) bytes, too short for a safetensors header")
        }
        let length = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length <= UInt64(Self.maximumHeaderBytes), Int(length) <= data.count - 8 else {
            throw SentenceEmbeddingError(.malformedFile, file: path,
                                         "the header claims \(length) bytes, the file has \(data.count - 8) after the length")
        }
        let base = 8 + Int(length)
        header = data.subdata(in: 8..<base)
        guard let object = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw SentenceEmbeddingError(.malformedFile, file: path, "the header is not a JSON object")
        }
        var tensors: [String: Tensor] = [:]
        for (name, value) in object where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw SentenceEmbeddingError(.malformedFile, file: path, "tensor \(name) lacks dtype, shape or data_offsets")
            }
            let (start, end) = (offsets[0], offsets[1])
            guard start >= 0, start <= end, end <= data.count - base, shape.allSatisfy({ $0 >= 0 }) else {
                throw SentenceEmbeddingError(.malformedFile, file: path,
                                             "tensor \(name) has data_offsets [\(start), \(end)] outside the \(data.count - base) data bytes")
            }
            tensors[name] = Tensor(dtype: dtype, shape: shape, bytes: (base + start)..<(base + end))
        }
        self.tensors = tensors
    }

    /// Copies the float32 tensor `name`, which must have exactly `shape`, to `destination`.
    func copy(_ name: String, shape: [Int], to destination: UnsafeMutablePointer<Float>) throws {
        guard let tensor = tensors[name] else {
            throw SentenceEmbeddingError(.unsupportedModel, file: path, "tensor \(name) is missing")
        }
        guard tensor.dtype == "F32" else {
            throw SentenceEmbeddingError(.unsupportedModel, file: path, "tensor \(name) is \(tensor.dtype), expected F32")
        }
        guard tensor.shape == shape else {
            throw SentenceEmbeddingError(.unsupportedModel, file: path, "tensor \(name) has shape \(tensor.shape), expected \(shape)")
        }
        let count = shape.reduce(1, *)
        guard tensor.bytes.count == count * MemoryLayout<Float>.size else {
            throw SentenceEmbeddingError(.malformedFile, file: path,
                                         "tensor \(name) has \(tensor.bytes.count) bytes for \(count) floats")
        }
        // safetensors data is little-endian, as are the CPUs this runs on (x86-64, arm64); the header's alignment
        // is arbitrary, so the bytes are copied rather than read in place as floats.
        data.withUnsafeBytes { raw in
            guard let source = raw.baseAddress else { return }
            UnsafeMutableRawPointer(destination).copyMemory(from: source + tensor.bytes.lowerBound, byteCount: tensor.bytes.count)
        }
    }

    /// The shape of `name`, if present.
    func shape(_ name: String) -> [Int]? { tensors[name]?.shape }
}
