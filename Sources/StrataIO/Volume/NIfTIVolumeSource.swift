import StrataCore

/// A NIfTI time stack: one 4-D file (`dim[4]` = time) or a series of 3-D files, one per step, in the order given.
///
/// `dim[5]` (the NIfTI "u" dimension), when greater than 1, is read as channels. Members of a series must agree on
/// size, channels, datatype and spacing.
final class NIfTIVolumeSource: VolumeSource {
    let files: [NIfTIFile]
    let shape: VolumeShape
    /// For each step, the file that holds it and the time index inside that file.
    private let stepLocations: [(file: Int, step: Int)]

    /// Opens one 4-D (or 3-D) NIfTI file.
    init(path: String) throws {
        let file = try NIfTIFile(path: path)
        let s = file.header.shape
        files = [file]
        shape = VolumeShape(steps: s.steps, channels: s.channels, depth: s.depth, height: s.height, width: s.width)
        stepLocations = (0..<s.steps).map { (0, $0) }
    }

    /// Opens a series of 3-D NIfTI files as time steps.
    init(series paths: [String]) throws {
        guard let firstPath = paths.first else {
            throw StrataError.invalidStack(reason: "a NIfTI series needs at least one file")
        }
        let opened = try paths.map { try NIfTIFile(path: $0) }
        let first = opened[0]
        let s = first.header.shape
        for file in opened {
            let m = file.header.shape
            guard m.steps == 1 else {
                throw StrataError.invalidStack(
                    reason: "\(file.path) has \(m.steps) time points; each member of a NIfTI series must be 3-D")
            }
            func check(_ property: String, _ expected: String, _ found: String) throws {
                guard expected == found else {
                    throw StrataError.gridMismatch(file: file.path, reference: firstPath, property: property,
                                                   expected: expected, found: found)
                }
            }
            try check("size", "\(s.width)×\(s.height)×\(s.depth)", "\(m.width)×\(m.height)×\(m.depth)")
            try check("channels", "\(s.channels)", "\(m.channels)")
            try check("datatype", "\(first.voxelType)", "\(file.voxelType)")
            let a = first.header.spacingMM, b = file.header.spacingMM
            try check("spacing (mm)", "\(a.x)×\(a.y)×\(a.z)", "\(b.x)×\(b.y)×\(b.z)")
        }
        files = opened
        shape = VolumeShape(steps: opened.count, channels: s.channels, depth: s.depth, height: s.height, width: s.width)
        stepLocations = (0..<opened.count).map { ($0, 0) }
    }

    func read(steps: Range<Int>, region inside: VolumeRegion, into out: UnsafeMutablePointer<Float>,
              layout: VolumeRegion) throws {
        let rowStride = layout.width
        let sliceStride = layout.height * layout.width
        let channelStride = layout.depth * sliceStride
        let insideOffset = (inside.z - layout.z) * sliceStride + (inside.y - layout.y) * rowStride
            + (inside.x - layout.x)
        for (i, step) in steps.enumerated() {
            let location = stepLocations[step]
            for channel in 0..<shape.channels {
                let base = out + (i * shape.channels + channel) * channelStride + insideOffset
                try files[location.file].read(step: location.step, channel: channel, region: inside, into: base,
                                              rowStride: rowStride, sliceStride: sliceStride)
            }
        }
    }
}
