import Foundation
import StrataCore

/// Collects tensors and metadata and writes them as one safetensors file, atomically.
///
/// Tensors are laid out in name order, the header is padded to 8 bytes, and the `__metadata__` map gets a
/// `sha256` entry: the hex SHA-256 of the data buffer, which ``SafeTensorsFile`` verifies on load. The file is
/// written under a temporary name and renamed into place (``AtomicOutput``), so a crash never leaves half a
/// checkpoint under the real name. Python's `safetensors.safe_open` reads the result.
///
/// ```swift
/// var writer = SafeTensorsWriter()
/// try writer.add("cell.weight", weight)                       // Tensor [G·Ch, Cin+Ch, K, K]
/// try writer.add("stats.mean", doubles: means, shape: [c])    // F64
/// try writer.add("step", integers: [1200], shape: [])         // I64 scalar
/// try writer.setMetadata("config", json: config)              // nested JSON as a string
/// let digest = try writer.write(to: "run/checkpoint.safetensors")
/// ```
public struct SafeTensorsWriter {
    /// Free-form metadata written into `__metadata__` (``SafeTensorsFile/checksumKey`` is reserved).
    public var metadata: [String: String] = [:]
    private var pending: [String: (dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8])] = [:]

    public init() {}

    /// Names added so far, sorted (the order they are written in).
    public var names: [String] { pending.keys.sorted() }

    /// Adds a tensor in its own element type (F32, F16, BF16 or U8).
    public mutating func add(_ name: String, _ tensor: Tensor) throws {
        let bytes = tensor.withRawBytes { [UInt8]($0) }
        try add(name, dtype: SafeTensorsDType(tensor.dtype), shape: tensor.shape, bytes: bytes)
    }

    /// Adds a float64 (F64) tensor from row-major values.
    public mutating func add(_ name: String, doubles values: [Double], shape: [Int]) throws {
        try checkCount(name, values.count, shape)
        try add(name, dtype: .float64, shape: shape, bytes: values.withUnsafeBytes { [UInt8]($0) })
    }

    /// Adds an int64 (I64) tensor from row-major values (counters, indices).
    public mutating func add(_ name: String, integers values: [Int64], shape: [Int]) throws {
        try checkCount(name, values.count, shape)
        try add(name, dtype: .int64, shape: shape, bytes: values.withUnsafeBytes { [UInt8]($0) })
    }

    /// Stores `value` as a JSON string under `key` in the metadata (keys sorted, so output is reproducible).
    public mutating func setMetadata<Value: Encodable>(_ key: String, json value: Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        metadata[key] = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Writes the file atomically and returns the SHA-256 of its data buffer (also stored in the header).
    ///
    /// - Throws: ``StrataError/invalidArgument(name:reason:)`` if the metadata uses the reserved `sha256` key,
    ///   ``StrataError/outputNotWritable(path:reason:)`` / ``StrataError/ioFailure(path:reason:)`` from the
    ///   file system.
    @discardableResult
    public func write(to path: String) throws -> SHA256.Digest {
        guard metadata[SafeTensorsFile.checksumKey] == nil else {
            throw StrataError.invalidArgument(name: "metadata key '\(SafeTensorsFile.checksumKey)'",
                                              reason: "reserved for the checksum the writer computes")
        }
        var entries: [SafeTensorsEntry] = []
        var hasher = SHA256()
        var offset = 0
        for name in names {
            let item = pending[name]!
            entries.append(SafeTensorsEntry(name: name, dtype: item.dtype, shape: item.shape,
                                            byteRange: offset..<(offset + item.bytes.count)))
            hasher.update(item.bytes)
            offset += item.bytes.count
        }
        let digest = hasher.finalize()
        var fullMetadata = metadata
        fullMetadata[SafeTensorsFile.checksumKey] = digest.hexString
        let header = SafeTensorsHeader.encode(entries: entries, metadata: fullMetadata)

        let output = try AtomicOutput(path: path)
        guard FileManager.default.createFile(atPath: output.temporaryPath, contents: nil) else {
            throw StrataError.outputNotWritable(path: path, reason: "cannot create \(output.temporaryPath)")
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output.temporaryPath))
            defer { try? handle.close() }
            try handle.write(contentsOf: header)
            for name in names { try handle.write(contentsOf: pending[name]!.bytes) }
            try handle.synchronize()
        } catch {
            output.discard()
            throw StrataError.ioFailure(path: path, reason: error.localizedDescription)
        }
        try output.commit()
        return digest
    }

    private mutating func add(_ name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) throws {
        guard !name.isEmpty, name != SafeTensorsHeader.metadataKey else {
            throw StrataError.invalidArgument(name: "tensor name '\(name)'", reason: "empty or reserved")
        }
        guard pending[name] == nil else {
            throw StrataError.invalidArgument(name: "tensor name '\(name)'", reason: "added twice")
        }
        pending[name] = (dtype, shape, bytes)
    }

    private func checkCount(_ name: String, _ count: Int, _ shape: [Int]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == count else {
            throw StrataError.invalidArgument(name: "tensor '\(name)'",
                                              reason: "\(count) values do not fill shape \(formatShape(shape))")
        }
    }
}
