import Foundation
import StrataTestSupport
import XCTest

// HDF5 fixtures made by the HDF5 command-line tools (h5import writes, h5dump reads), independent of Strata's code.

extension VolumeTestKit {
    /// Writes `values` (row-major) into `file` as dataset `dataset` with `h5import`.
    ///
    /// - Parameters:
    ///   - outputClass: `IN` (integer) or `FP` (float); `outputSize` in bits; `byteOrder` `LE` or `BE`.
    ///   - chunk: chunk shape, or `nil` for a contiguous dataset.
    static func h5import(_ values: [Double], dims: [Int], into file: String, dataset: String,
                         outputClass: String = "IN", outputSize: Int = 16, byteOrder: String = "LE",
                         chunk: [Int]? = nil) throws {
        let folder = (file as NSString).deletingLastPathComponent
        let stem = UUID().uuidString
        let valuesPath = folder + "/\(stem).txt", configPath = folder + "/\(stem).cfg"
        let integer = outputClass == "IN"
        let text = values.map { integer ? String(Int($0)) : String($0) }.joined(separator: " ")
        try text.write(toFile: valuesPath, atomically: true, encoding: .utf8)
        var config = [
            "PATH \(dataset)", "INPUT-CLASS \(integer ? "TEXTIN" : "TEXTFP")", "INPUT-SIZE \(integer ? 32 : 64)",
            "RANK \(dims.count)", "DIMENSION-SIZES " + dims.map(String.init).joined(separator: " "),
            "OUTPUT-CLASS \(outputClass)", "OUTPUT-SIZE \(outputSize)", "OUTPUT-BYTE-ORDER \(byteOrder)",
        ]
        if let chunk { config.append("CHUNKED-DIMENSION-SIZES " + chunk.map(String.init).joined(separator: " ")) }
        try config.joined(separator: "\n").appending("\n").write(toFile: configPath, atomically: true, encoding: .utf8)
        try ExternalTool.output("h5import", [valuesPath, "-c", configPath, "-o", file])
        try FileManager.default.removeItem(atPath: valuesPath)
        try FileManager.default.removeItem(atPath: configPath)
    }

    /// The values of a dataset as printed by `h5dump` (one number per element, row-major).
    static func h5dumpValues(_ file: String, dataset: String) throws -> [Double] {
        let text = try ExternalTool.output("h5dump", ["-d", dataset, "-y", "-w", "0", "-m", "%.9g", file])
        guard let start = text.range(of: "DATA {") else { return [] }
        let body = text[start.upperBound...].prefix { $0 != "}" }
        return body.split(whereSeparator: { $0 == "," || $0.isWhitespace }).compactMap { Double($0) }
    }
}
