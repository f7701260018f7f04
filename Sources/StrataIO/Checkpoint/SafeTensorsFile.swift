import Foundation
import StrataCore

/// A safetensors file read whole into memory and validated: header, layout, and (when the header records one)
/// the SHA-256 of the data buffer.
///
/// Reads files written by Python's `safetensors` (`save_file`) and by ``SafeTensorsWriter``. Element bytes are
/// little-endian in the file and are copied as they are, which is right on the little-endian machines Strata
/// runs on (x86-64, arm64).
///
/// ```swift
/// let file = try SafeTensorsFile(path: "model.safetensors")
/// try file.expect(name: "cell.weight", dtype: .float32, shape: [20, 8, 3, 3])
/// let weight = try file.tensor("cell.weight")          // Tensor, float32, [G·Ch, Cin+Ch, K, K]
/// let reference = try file.doubles("hidden")           // F64 fixture values as [Double]
/// let config = file.metadata["config"]                  // nested JSON kept as a string
/// ```
public struct SafeTensorsFile: Sendable {
    /// Metadata key under which ``SafeTensorsWriter`` records the hex SHA-256 of the data buffer.
    public static let checksumKey = "sha256"

    /// The path the file was read from (used in every error message).
    public let path: String
    /// The `__metadata__` map (empty when the file has none).
    public let metadata: [String: String]
    /// Every tensor's entry by name.
    public let entries: [String: SafeTensorsEntry]
    // The data buffer: the file's bytes after the header.
    private let buffer: [UInt8]

    /// Tensor names in sorted order.
    public var names: [String] { entries.keys.sorted() }

    /// Reads and validates the file at `path`.
    ///
    /// - Throws: ``StrataError/fileNotFound(path:)``, ``StrataError/isDirectory(path:)``,
    ///   ``StrataError/emptyFile(path:)``; ``StrataError/invalidHeader(path:reason:)`` for a header that is cut
    ///   off, not JSON, or whose offsets are out of range, overlapping, not contiguous or disagree with a shape;
    ///   ``StrataError/unreadable(path:reason:)`` when the recorded SHA-256 does not match the bytes.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw StrataError.fileNotFound(path: path)
        }
        guard !isDirectory.boolValue else { throw StrataError.isDirectory(path: path) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw StrataError.unreadable(path: path, reason: error.localizedDescription)
        }
        guard !data.isEmpty else { throw StrataError.emptyFile(path: path) }
        try self.init(parsing: data, path: path)
    }

    /// Parses a whole file already in memory; `path` only names it in errors.
    public init(bytes: [UInt8], path: String) throws {
        try self.init(parsing: bytes, path: path)
    }

    // One copy of the file's data buffer is kept; the header is parsed in place.
    private init<Bytes: ContiguousBytes>(parsing file: Bytes, path: String) throws {
        let (header, buffer) = try file.withUnsafeBytes { raw in
            let header = try SafeTensorsHeader.parse(raw, path: path)
            return (header, [UInt8](UnsafeRawBufferPointer(rebasing: raw[header.dataStart...])))
        }
        self.path = path
        self.metadata = header.metadata
        self.entries = header.entries
        self.buffer = buffer
        if let recorded = metadata[Self.checksumKey] {
            let actual = SHA256.hash(buffer).hexString
            guard actual == recorded.lowercased() else {
                throw StrataError.unreadable(path: path, reason: "SHA-256 of the tensor data is \(actual), the"
                    + " header records \(recorded): the file is corrupt or was modified after it was written")
            }
        }
    }

    /// The entry for `name`, or nil.
    public func entry(_ name: String) -> SafeTensorsEntry? { entries[name] }

    /// Checks that tensor `name` exists with the given element type and shape, and says what differs if not:
    /// `model.safetensors: invalid header: tensor 'conv.weight': expected shape [20, 8, 3, 3], found [20, 8, 5, 5]`.
    ///
    /// ```swift
    /// try file.expect(name: "layers.0.weight", dtype: .float32, shape: [4 * hidden, input + hidden, k, k])
    /// ```
    @discardableResult
    public func expect(name: String, dtype: SafeTensorsDType, shape: [Int]) throws -> SafeTensorsEntry {
        let entry = try require(name)
        guard entry.dtype == dtype else {
            throw StrataError.invalidHeader(path: path, reason: "tensor '\(name)': expected dtype \(dtype.rawValue),"
                + " found \(entry.dtype.rawValue)")
        }
        guard entry.shape == shape else {
            throw StrataError.invalidHeader(path: path, reason: "tensor '\(name)': expected shape"
                + " \(formatShape(shape)), found \(formatShape(entry.shape))")
        }
        return entry
    }

    /// Checks a whole set of tensors at once and reports every problem in one error (missing tensors, wrong dtype
    /// or shape, and, unless `allowingOthers`, tensors the caller did not expect), so a user loading the wrong
    /// checkpoint sees all differences, not just the first.
    ///
    /// ```swift
    /// try file.expect([
    ///     .init(name: "layers.0.weight", dtype: .float32, shape: [20, 8, 3, 3]),
    ///     .init(name: "layers.0.bias", dtype: .float32, shape: [20]),
    /// ])
    /// // m.safetensors: invalid header: tensor 'layers.0.weight': expected shape [20, 8, 3, 3], found
    /// //   [20, 8, 5, 5]; unexpected tensor 'layers.1.weight'
    /// ```
    public func expect(_ expectations: [SafeTensorsExpectation], allowingOthers: Bool = false) throws {
        var problems: [String] = []
        for expected in expectations {
            guard let entry = entries[expected.name] else {
                problems.append("no tensor '\(expected.name)'")
                continue
            }
            if entry.dtype != expected.dtype {
                problems.append("tensor '\(expected.name)': expected dtype \(expected.dtype.rawValue),"
                    + " found \(entry.dtype.rawValue)")
            }
            if entry.shape != expected.shape {
                problems.append("tensor '\(expected.name)': expected shape \(formatShape(expected.shape)),"
                    + " found \(formatShape(entry.shape))")
            }
        }
        if !allowingOthers {
            let wanted = Set(expectations.map(\.name))
            problems += names.filter { !wanted.contains($0) }.map { "unexpected tensor '\($0)'" }
        }
        guard problems.isEmpty else {
            throw StrataError.invalidHeader(path: path, reason: problems.joined(separator: "; "))
        }
    }

    /// Tensor `name` as a ``Tensor``: F32, F16, BF16 and U8 keep their element type; F64 is rounded to float32
    /// (reference fixtures are stored in both precisions, and the engine computes in float32).
    ///
    /// - Throws: ``StrataError/invalidHeader(path:reason:)`` if there is no such tensor,
    ///   ``StrataError/unsupported(path:reason:)`` for I64 / I32 (use ``integers(_:)``).
    public func tensor(_ name: String) throws -> Tensor {
        let entry = try require(name)
        if entry.dtype == .float64 {
            return Tensor(shape: entry.shape, values: try doubles(name).map { Float($0) })
        }
        guard let dtype = entry.dtype.tensorDType else {
            throw StrataError.unsupported(path: path, reason: "tensor '\(name)' is \(entry.dtype.rawValue);"
                + " read integer tensors with integers(_:)")
        }
        var tensor = Tensor(zeros: entry.shape, dtype: dtype)
        tensor.withMutableRawBytes { destination in
            buffer.withUnsafeBytes { source in
                destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[entry.byteRange]))
            }
        }
        return tensor
    }

    /// Tensor `name` as `Double` values in row-major order, from F64 exactly or widened from F32 / F16 / BF16.
    ///
    /// - Throws: ``StrataError/unsupported(path:reason:)`` for integer and U8 tensors.
    public func doubles(_ name: String) throws -> [Double] {
        let entry = try require(name)
        switch entry.dtype {
        case .float64:
            return load(entry, as: Double.self)
        case .float32, .float16, .bfloat16:
            return try tensor(name).floats.map(Double.init)
        case .int64, .int32, .uint8:
            throw StrataError.unsupported(path: path, reason: "tensor '\(name)' is \(entry.dtype.rawValue),"
                + " not a floating-point tensor")
        }
    }

    /// Tensor `name` as `Int64` values, from I64, I32 or U8.
    ///
    /// - Throws: ``StrataError/unsupported(path:reason:)`` for floating-point tensors.
    public func integers(_ name: String) throws -> [Int64] {
        let entry = try require(name)
        switch entry.dtype {
        case .int64: return load(entry, as: Int64.self)
        case .int32: return load(entry, as: Int32.self).map(Int64.init)
        case .uint8: return load(entry, as: UInt8.self).map(Int64.init)
        case .float64, .float32, .float16, .bfloat16:
            throw StrataError.unsupported(path: path, reason: "tensor '\(name)' is \(entry.dtype.rawValue),"
                + " not an integer tensor")
        }
    }

    /// Metadata entry `key` decoded from the JSON string it holds (configurations and statistics are nested
    /// JSON stored as strings, because `__metadata__` maps strings to strings).
    ///
    /// ```swift
    /// struct Config: Decodable { var hidden: [Int]; var kernelSize: Int }
    /// let config = try file.decodeMetadata("config", as: Config.self)
    /// ```
    public func decodeMetadata<Value: Decodable>(_ key: String, as type: Value.Type) throws -> Value {
        guard let text = metadata[key] else {
            throw StrataError.invalidHeader(path: path, reason: "no metadata entry '\(key)'")
        }
        do {
            return try JSONDecoder().decode(Value.self, from: Data(text.utf8))
        } catch {
            throw StrataError.invalidHeader(path: path, reason: "metadata entry '\(key)' is not the expected JSON"
                + " (\(error))")
        }
    }

    private func require(_ name: String) throws -> SafeTensorsEntry {
        guard let entry = entries[name] else {
            let known = names.prefix(12).joined(separator: ", ") + (names.count > 12 ? ", …" : "")
            throw StrataError.invalidHeader(path: path, reason: "no tensor '\(name)' (the file has: \(known))")
        }
        return entry
    }

    // Unaligned-safe: offsets in a safetensors buffer need not be multiples of the element size.
    private func load<Element>(_ entry: SafeTensorsEntry, as type: Element.Type) -> [Element] {
        [Element](unsafeUninitializedCapacity: entry.count) { out, initialized in
            buffer.withUnsafeBytes { source in
                let bytes = UnsafeRawBufferPointer(rebasing: source[entry.byteRange])
                UnsafeMutableRawBufferPointer(out).copyMemory(from: bytes)
            }
            initialized = entry.count
        }
    }
}
