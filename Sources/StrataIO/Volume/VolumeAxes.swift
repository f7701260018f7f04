import Foundation

/// Which axes an HDF5 volume dataset has, always in the order T, (C,) (D,) H, W.
///
/// Written as the dataset attribute `axes`, e.g. `"T,C,D,H,W"` or `"T,H,W"`. Without the attribute the rank decides:
/// 3 → T,H,W; 4 → T,D,H,W; 5 → T,C,D,H,W (so a 4-D multichannel 2-D series needs `axes = "T,C,H,W"`).
///
/// ```swift
/// VolumeAxes(attribute: "T, C, H, W")   // hasChannels true, hasDepth false, rank 4
/// VolumeAxes(inferredFromRank: 4)       // T,D,H,W
/// ```
public struct VolumeAxes: Equatable, Hashable, Sendable {
    public var hasChannels: Bool
    public var hasDepth: Bool

    public init(hasChannels: Bool, hasDepth: Bool) {
        self.hasChannels = hasChannels
        self.hasDepth = hasDepth
    }

    /// The default for a dataset without an `axes` attribute, or `nil` for ranks other than 3, 4, 5.
    public init?(inferredFromRank rank: Int) {
        switch rank {
        case 3: self.init(hasChannels: false, hasDepth: false)
        case 4: self.init(hasChannels: false, hasDepth: true)
        case 5: self.init(hasChannels: true, hasDepth: true)
        default: return nil
        }
    }

    /// Parses an `axes` attribute (letters separated by commas, spaces ignored, any case); `nil` unless it reads
    /// T, optionally C, optionally D, then H, W.
    public init?(attribute: String) {
        let letters = attribute.uppercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard letters.count >= 3, letters.first == "T", letters.suffix(2) == ["H", "W"] else { return nil }
        let middle = Array(letters.dropFirst().dropLast(2))
        switch middle {
        case []: self.init(hasChannels: false, hasDepth: false)
        case ["C"]: self.init(hasChannels: true, hasDepth: false)
        case ["D"]: self.init(hasChannels: false, hasDepth: true)
        case ["C", "D"]: self.init(hasChannels: true, hasDepth: true)
        default: return nil
        }
    }

    /// Number of dataset dimensions.
    public var rank: Int { 3 + (hasChannels ? 1 : 0) + (hasDepth ? 1 : 0) }

    /// The axis letters in dataset order.
    public var letters: [String] { ["T"] + (hasChannels ? ["C"] : []) + (hasDepth ? ["D"] : []) + ["H", "W"] }

    /// The `axes` attribute value, e.g. `"T,C,D,H,W"`.
    public var attributeValue: String { letters.joined(separator: ",") }

    /// Dataset dimensions for a shape (dropping C and D when absent).
    func datasetDims(_ shape: VolumeShape) -> [Int] {
        [shape.steps] + (hasChannels ? [shape.channels] : []) + (hasDepth ? [shape.depth] : [])
            + [shape.height, shape.width]
    }

    /// Dataset start and count for `steps` × all channels × `region`.
    func hyperslab(steps: Range<Int>, channels: Int, region: VolumeRegion) -> (start: [Int], count: [Int]) {
        let start = [steps.lowerBound] + (hasChannels ? [0] : []) + (hasDepth ? [region.z] : []) + [region.y, region.x]
        let count = [steps.count] + (hasChannels ? [channels] : []) + (hasDepth ? [region.depth] : [])
            + [region.height, region.width]
        return (start, count)
    }
}
