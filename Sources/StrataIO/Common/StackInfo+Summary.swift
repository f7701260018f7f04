import Foundation

extension StackInfo {
    /// A human-readable report, as `strata info` prints it without `--json`.
    ///
    /// ```
    /// kind        datacube
    /// source      NETCDF:"bcsd_obs_1999.nc":pr
    /// size        81 x 33 pixels, 12 steps x 1 band, float32
    /// ```
    public var summary: String {
        var lines: [(String, String)] = [("kind", kind.rawValue)]
        for (i, source) in sources.enumerated() { lines.append((i == 0 ? "source" : "", source)) }
        let size = depth.map { "\(width) x \(height) x \($0) voxels" } ?? "\(width) x \(height) pixels"
        lines.append(("size", "\(size), \(steps) step\(steps == 1 ? "" : "s") x \(bands) band\(bands == 1 ? "" : "s"), \(dtype)"))
        let labelled = dates.compactMap { $0 }
        if !labelled.isEmpty {
            lines.append(("dates", labelled.count <= 6 ? labelled.joined(separator: ", ")
                : "\(labelled.prefix(3).joined(separator: ", ")), ..., \(labelled.suffix(2).joined(separator: ", "))"))
        }
        if let offsets = timeOffsetsSeconds, offsets.count > 1 {
            lines.append(("time", "0 to \(Self.number(offsets.last!)) s, step \(Self.number(offsets[1] - offsets[0])) s"))
        }
        let named = bandNames.enumerated().filter { !$0.element.isEmpty }
        if !named.isEmpty { lines.append(("bands", named.map { "\($0.offset + 1): \($0.element)" }.joined(separator: ", "))) }
        if let crs {
            let name = Self.crsName(crs.wkt)
            lines.append(("crs", crs.epsg.map { "EPSG:\($0)" + (name.map { " (\($0))" } ?? "") } ?? name ?? "custom (no EPSG code)"))
        } else if depth == nil {
            lines.append(("crs", "none"))
        }
        if let gt = geotransform {
            lines.append(("origin", "\(Self.number(gt[0])), \(Self.number(gt[3]))"))
            lines.append(("pixel size", "\(Self.number(gt[1])) x \(Self.number(gt[5]))"
                + (gt[2] != 0 || gt[4] != 0 ? " (rotated: \(Self.number(gt[2])), \(Self.number(gt[4])))" : "")))
        }
        if let spacing { lines.append(("spacing", spacing.map(Self.number).joined(separator: " x ") + " mm")) }
        if let origin, depth != nil { lines.append(("origin", origin.map(Self.number).joined(separator: ", ") + " mm")) }
        if let nodata { lines.append(("nodata", Self.number(nodata))) }
        if let scale, let offset, scale != 1 || offset != 0 {
            lines.append(("scale/offset", "\(Self.number(scale)) / \(Self.number(offset))"))
        }
        if let blockSize { lines.append(("block", blockSize.map(String.init).joined(separator: " x "))) }
        if let valueRange, valueRange.count == 2 {
            lines.append(("value range", "\(Self.number(valueRange[0])) to \(Self.number(valueRange[1])) (sample of step 1)"))
        }
        let labelWidth = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0.padding(toLength: labelWidth, withPad: " ", startingAt: 0) + "  " + $0.1 }
            .joined(separator: "\n")
    }

    static func number(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return String(format: "%.10g", x)
    }

    /// The first quoted name of a WKT string: `PROJCRS["WGS 84 / UTM zone 33N", ...]` gives the CRS's name.
    static func crsName(_ wkt: String) -> String? {
        guard let open = wkt.firstIndex(of: "\"") else { return nil }
        let rest = wkt[wkt.index(after: open)...]
        guard let close = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<close])
    }
}
