/// The storage type of raster bands and volume voxels, as the file holds them.
public enum SampleType: String, Sendable, Codable, CaseIterable {
    case uint8, int8, uint16, int16, uint32, int32, float16, float32, float64

    /// Bytes per sample.
    public var size: Int {
        switch self {
        case .uint8, .int8: return 1
        case .uint16, .int16, .float16: return 2
        case .uint32, .int32, .float32: return 4
        case .float64: return 8
        }
    }

    /// Whether the type is an integer type (categorical bands are read with nearest-neighbour resampling).
    public var isInteger: Bool {
        switch self {
        case .float16, .float32, .float64: return false
        default: return true
        }
    }
}
