import Foundation
import StrataCore

/// The parsed and validated header of a safetensors file: the layout is
///
///     [8 bytes: N, little-endian UInt64] [N bytes: JSON, space-padded] [data buffer]
///
/// where the JSON maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to
/// the start of the data buffer) plus an optional `"__metadata__"` object of string to string.
struct SafeTensorsHeader {
    var entries: [String: SafeTensorsEntry]
    var metadata: [String: String]
    /// Where the data buffer starts in the file: 8 + N.
    var dataStart: Int

    /// The JSON key that holds free-form metadata rather than a tensor.
    static let metadataKey = "__metadata__"
    /// The upper bound the reference implementation puts on N; a larger value means a corrupt or foreign file.
    static let maximumHeaderLength = 100_000_000

    /// Parses and checks the header of `bytes` (a whole file); every error names `path` and, where there is one,
    /// the tensor at fault.
    static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws -> SafeTensorsHeader {
        func fail(_ reason: String) -> StrataError { .invalidHeader(path: path, reason: reason) }

        guard bytes.count >= 8 else {
            throw fail("file is \(bytes.count) bytes, too short for the 8-byte header length")
        }
        // The HDF5 signature: a Keras weights file given where safetensors are expected.
        if [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A].enumerated().allSatisfy({ bytes[$0.offset] == $0.element }) {
            throw fail("not a safetensors file but HDF5 (Keras weights are imported with --from keras)")
        }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << UInt64(8 * i) }
        guard length <= UInt64(bytes.count - 8) else {
            throw fail("header length \(length) runs past the end of the file (\(bytes.count) bytes)")
        }
        guard length <= UInt64(maximumHeaderLength) else {
            throw fail("header length \(length) exceeds the limit of \(maximumHeaderLength) bytes")
        }
        let headerLength = Int(length)
        let dataStart = 8 + headerLength
        let bufferSize = bytes.count - dataStart
        let json = Data(bytes[8..<dataStart])
        guard json.first == UInt8(ascii: "{") else {
            throw fail("header JSON does not start with '{'")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw fail("header is not valid JSON (\(error.localizedDescription))")
        }
        guard let root = object as? [String: Any] else { throw fail("header JSON is not an object") }

        var metadata: [String: String] = [:]
        var entries: [String: SafeTensorsEntry] = [:]
        for (name, value) in root {
            if name == metadataKey {
                guard let map = value as? [String: Any] else {
                    throw fail("\(metadataKey) is not an object of strings")
                }
                for (key, item) in map {
                    guard let text = item as? String else {
                        throw fail("\(metadataKey) entry '\(key)' is not a string"
                            + " (nested JSON must be stored as a JSON string)")
                    }
                    metadata[key] = text
                }
                continue
            }
            entries[name] = try parseEntry(name: name, value: value, fail: fail)
        }
        try checkLayout(Array(entries.values), bufferSize: bufferSize, fail: fail)
        return SafeTensorsHeader(entries: entries, metadata: metadata, dataStart: dataStart)
    }

    private static func integer(_ value: Any) -> Int? {
        // JSONSerialization gives NSNumber; a JSON `true` is an NSNumber of Objective-C type "c" (char) that would
        // silently read as 1, and a fraction reads as nil through `as? Int`.
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
        return value as? Int
    }

    private static func parseEntry(name: String, value: Any, fail: (String) -> StrataError) throws
        -> SafeTensorsEntry
    {
        guard let fields = value as? [String: Any] else { throw fail("tensor '\(name)': entry is not an object") }
        guard let dtypeName = fields["dtype"] as? String else { throw fail("tensor '\(name)': no dtype") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            let known = SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("tensor '\(name)': unknown dtype '\(dtypeName)' (Strata reads \(known))")
        }
        guard let shapeItems = fields["shape"] as? [Any] else { throw fail("tensor '\(name)': no shape") }
        var shape: [Int] = []
        for item in shapeItems {
            guard let dimension = integer(item), dimension >= 0 else {
                throw fail("tensor '\(name)': shape \(shapeItems) is not a list of non-negative integers")
            }
            shape.append(dimension)
        }
        guard let offsetItems = fields["data_offsets"] as? [Any], offsetItems.count == 2,
              let begin = integer(offsetItems[0]), let end = integer(offsetItems[1])
        else { throw fail("tensor '\(name)': data_offsets is not a pair of integers") }
        guard begin >= 0, begin <= end else {
            throw fail("tensor '\(name)': data_offsets [\(begin), \(end)] is not an increasing range")
        }
        // Overflow-checked: a hostile shape must not wrap around to a plausible size.
        var elements = 1
        for dimension in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw fail("tensor '\(name)': shape \(formatShape(shape)) overflows") }
            elements = product
        }
        let (expectedBytes, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, expectedBytes == end - begin else {
            throw fail("tensor '\(name)': shape \(formatShape(shape)) of \(dtypeName) needs"
                + " \(overflow ? "more than Int.max" : String(expectedBytes)) bytes,"
                + " data_offsets [\(begin), \(end)] hold \(end - begin)")
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// The data buffer must be covered exactly: no tensor past its end, no two tensors sharing bytes, no holes.
    private static func checkLayout(_ entries: [SafeTensorsEntry], bufferSize: Int,
                                    fail: (String) -> StrataError) throws
    {
        let ordered = entries.sorted { ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name)
            < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name) }
        var position = 0
        var previous: String?
        for entry in ordered {
            let range = entry.byteRange
            guard range.upperBound <= bufferSize else {
                throw fail("tensor '\(entry.name)': data_offsets [\(range.lowerBound), \(range.upperBound)]"
                    + " run past the end of the data buffer (\(bufferSize) bytes)")
            }
            if range.lowerBound < position, let previous {
                throw fail("tensor '\(entry.name)': data_offsets [\(range.lowerBound), \(range.upperBound)]"
                    + " overlap tensor '\(previous)' (which ends at \(position))")
            }
            if range.lowerBound > position {
                throw fail("tensor '\(entry.name)': data_offsets start at \(range.lowerBound), expected"
                    + " \(position): the data buffer is not contiguous")
            }
            position = range.upperBound
            previous = entry.name
        }
        guard position == bufferSize else {
            throw fail("data buffer is \(bufferSize) bytes but the tensors cover \(position):"
                + " \(bufferSize - position) trailing bytes belong to no tensor")
        }
    }

    /// The header bytes for `entries` (in the given order) and `metadata`: the 8-byte length, then JSON padded
    /// with spaces so that the data buffer starts on an 8-byte boundary. Keys are written in sorted order so
    /// the same checkpoint always gives the same bytes.
    static func encode(entries: [SafeTensorsEntry], metadata: [String: String]) -> [UInt8] {
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += jsonString(metadataKey) + ":{"
            json += metadata.keys.sorted().map { jsonString($0) + ":" + jsonString(metadata[$0]!) }
                .joined(separator: ",")
            json += "}"
            first = false
        }
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            if !first { json += "," }
            first = false
            json += jsonString(entry.name) + ":{\"dtype\":" + jsonString(entry.dtype.rawValue)
                + ",\"shape\":[" + entry.shape.map(String.init).joined(separator: ",") + "]"
                + ",\"data_offsets\":[\(entry.byteRange.lowerBound),\(entry.byteRange.upperBound)]}"
        }
        json += "}"
        var body = Array(json.utf8)
        while (8 + body.count) % 8 != 0 { body.append(UInt8(ascii: " ")) }
        var out = [UInt8]()
        out.reserveCapacity(8 + body.count)
        let length = UInt64(body.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: length >> UInt64(8 * i))) }
        out.append(contentsOf: body)
        return out
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped, everything else as UTF-8.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
