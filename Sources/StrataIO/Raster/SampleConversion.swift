import CGDAL
import StrataCore

/// Converts float32 values to a band storage type the way a user expects: round half away from zero, clamp to the
/// type's range, NaN to the nodata value (or 0 when there is none).
enum SampleConversion {
    /// The GDAL data type for a sample type the writer supports (`int8` and `float16` have no GTiff support in
    /// GDAL 3.6 without extra options, so they are refused).
    static func gdalType(_ type: SampleType) -> GDALDataType? {
        switch type {
        case .uint8: return GDT_Byte
        case .int16: return GDT_Int16
        case .uint16: return GDT_UInt16
        case .int32: return GDT_Int32
        case .uint32: return GDT_UInt32
        case .float32: return GDT_Float32
        case .float64: return GDT_Float64
        case .int8, .float16: return nil
        }
    }

    /// Whether `value` is exactly representable in `type` (a nodata value must be).
    static func representable(_ value: Double, in type: SampleType) -> Bool {
        switch type {
        case .uint8: return value == value.rounded() && (0...255).contains(value)
        case .int16: return value == value.rounded() && (-32768...32767).contains(value)
        case .uint16: return value == value.rounded() && (0...65535).contains(value)
        case .int32: return value == value.rounded() && (-2_147_483_648...2_147_483_647).contains(value)
        case .uint32: return value == value.rounded() && (0...4_294_967_295).contains(value)
        case .float32: return value.isNaN || Double(Float(value)) == value
        default: return true
        }
    }

    /// Calls `body` with the values converted to `type`, as raw bytes ready for `GDALDatasetRasterIO`.
    static func withConverted<R>(_ values: UnsafeBufferPointer<Float>, to type: SampleType, nodata: Double?,
                                 _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
        func integers<T: FixedWidthInteger>(_: T.Type) -> [T] {
            let low = Float(T.min), high = Float(T.max)
            let missing = T(exactly: nodata ?? 0) ?? 0
            return values.map { value in
                if value.isNaN { return missing }
                let rounded = value.rounded(.toNearestOrAwayFromZero)
                // Float(T.max) of a 32-bit type rounds up past T.max; compare before converting.
                if rounded >= high { return T.max }
                if rounded <= low { return T.min }
                return T(rounded)
            }
        }
        switch type {
        case .float32:
            // A declared nodata other than NaN replaces NaN, as the file's readers expect (they mask the declared
            // value, and many treat NaN as a valid number). Without NaN, GDAL reads the buffer itself on GF_Write.
            if let nodata, !nodata.isNaN, values.contains(where: \.isNaN) {
                let fill = Float(nodata)
                var out = values.map { $0.isNaN ? fill : $0 }
                return try out.withUnsafeMutableBytes { try body($0.baseAddress!) }
            }
            return try body(UnsafeMutableRawPointer(mutating: values.baseAddress!))
        case .float64:
            let fill = nodata.map { $0.isNaN ? Double.nan : $0 } ?? .nan
            var wide = values.map { $0.isNaN ? fill : Double($0) }
            return try wide.withUnsafeMutableBytes { try body($0.baseAddress!) }
        case .uint8:
            var out = integers(UInt8.self)
            return try out.withUnsafeMutableBytes { try body($0.baseAddress!) }
        case .int16:
            var out = integers(Int16.self)
            return try out.withUnsafeMutableBytes { try body($0.baseAddress!) }
        case .uint16:
            var out = integers(UInt16.self)
            return try out.withUnsafeMutableBytes { try body($0.baseAddress!) }
        case .int32:
            var out = integers(Int32.self)
            return try out.withUnsafeMutableBytes { try body($0.baseAddress!) }
        case .uint32:
            var out = integers(UInt32.self)
            return try out.withUnsafeMutableBytes { try body($0.baseAddress!) }
        case .int8, .float16:
            preconditionFailure("\(type) is refused by gdalType(_:) before any write")
        }
    }
}
