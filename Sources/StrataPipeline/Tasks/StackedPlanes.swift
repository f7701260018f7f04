import StrataCore
import StrataIO

/// Two or more plane stacks on the same grid, steps and planes read as one, their channels side by side (the
/// change task's mask and change-step rasters become one two-channel label stack).
///
/// A position is valid only where every member is valid, so a label is used only where all its parts are known.
///
/// ```swift
/// let labels = try StackedPlanes([RasterPlanes(mask), RasterPlanes(steps)])   // channels == 2
/// ```
public final class StackedPlanes: PlaneStack {
    public let members: [any PlaneStack]

    public init(_ members: [any PlaneStack]) throws {
        guard let first = members.first else {
            throw StrataError.invalidArgument(name: "targets", reason: "no label stack")
        }
        for member in members.dropFirst() {
            guard member.width == first.width, member.height == first.height, member.planes == first.planes,
                  member.steps == first.steps else {
                throw StrataError.invalidArgument(
                    name: "targets", reason: "label stacks differ in size or steps: \(member.width)×\(member.height)"
                        + "×\(member.steps) steps against \(first.width)×\(first.height)×\(first.steps)")
            }
        }
        self.members = members
    }

    public var width: Int { members[0].width }
    public var height: Int { members[0].height }
    public var planes: Int { members[0].planes }
    public var steps: Int { members[0].steps }
    public var channels: Int { members.reduce(0) { $0 + $1.channels } }
    public var blockSize: (width: Int, height: Int) { members[0].blockSize }

    public func read(window: Window, plane: Int) throws -> StackWindow {
        let parts = try members.map { try $0.read(window: window, plane: plane) }
        let (t, area) = (steps, window.width * window.height)
        var values = Tensor(zeros: [t, channels, window.height, window.width])
        var mask = Tensor(zeros: [t, window.height, window.width], dtype: .uint8)
        mask.withMutableRawBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 1) }
        values.withMutableFloats { out in
            mask.withMutableRawBytes { outMask in
                var offset = 0
                for part in parts {
                    let c = part.values.shape[1]
                    part.values.withFloats { v in
                        for step in 0..<t {
                            for channel in 0..<c {
                                let from = (step * c + channel) * area, to = (step * channels + offset + channel) * area
                                for i in 0..<area { out[to + i] = v[from + i] }
                            }
                        }
                    }
                    part.mask.withRawBytes { m in for i in 0..<(t * area) where m[i] == 0 { outMask[i] = 0 } }
                    offset += c
                }
            }
        }
        return StackWindow(window: window, values: values, mask: mask)
    }
}
