import Foundation
import StrataCore
import StrataIO

/// The lesion follow-up study: one ``LesionSeries`` per patient, written as HDF5 and NIfTI with label truth.
///
/// ```swift
/// let summary = try LesionDataset(config: LesionSeriesConfig()).write(to: "/tmp/lesions")
/// summary.counts["lesions"]   // lesions over all patients
/// ```
public struct LesionDataset: Sendable {
    public let config: LesionSeriesConfig
    public let timeLabels: [String]

    public init(config: LesionSeriesConfig) throws {
        self.config = config
        let start = try SynthCalendar.seconds(config.firstDate)
        timeLabels = (0..<config.timepoints).map { SynthCalendar.isoDate(start + Double($0 * config.intervalDays) * 86_400) }
    }

    /// Writes every patient into `directory/patient_XXX/` (layout in datasets/README.md, scenario `lesions`):
    /// `scans.h5:/scans` float32 `[T, D, H, W]`, `lesions.h5:/labels` uint8 `[T, D, H, W]`, `tN.nii.gz` and
    /// `tN_labels.nii.gz` per timepoint, and `lesions.json` (volumes in mm³ per timepoint, merges).
    ///
    /// One timepoint of one patient is generated at a time and appended to all four outputs.
    public func write(to directory: String) throws -> SynthSummary {
        let root = try SynthSupport.makeDirectory(directory)
        var files: [String] = []
        var lesionCount = 0, mergeCount = 0
        let shape = VolumeShape(steps: config.timepoints, channels: 1, depth: config.depth, height: config.height,
                                width: config.width)
        for patient in 1...config.patients {
            let series = LesionSeries(config: config, patient: patient)
            let folder = String(format: "patient_%03d", patient)
            let base = try SynthSupport.makeDirectory(root + "/" + folder)
            let metadata = VolumeMetadata(spacing: config.spacing, origin: series.originMM, timeLabels: timeLabels)
            let scans = try HDF5VolumeWriter(path: base + "/scans.h5")
            try scans.createDataset("/scans", shape: shape, storage: .float32, metadata: metadata)
            let labels = try HDF5VolumeWriter(path: base + "/lesions.h5")
            var labelMetadata = metadata
            labelMetadata.bandNames = ["lesion id (0 background)"]
            try labels.createDataset("/labels", shape: shape, storage: .uint8, metadata: labelMetadata)

            var voxels = [[Int]](repeating: [Int](repeating: 0, count: config.timepoints), count: series.lesions.count)
            var merges: [LesionMerge] = []
            for t in 0..<config.timepoints {
                let (image, labelVolume) = series.scan(timepoint: t)
                let volumeShape = [1, 1, config.depth, config.height, config.width]
                try scans.write(Tensor(shape: volumeShape, values: image), to: "/scans", firstStep: t)
                try labels.write(Tensor(shape: volumeShape, values: labelVolume.map(Float.init)), to: "/labels",
                                 firstStep: t)
                try writeNIfTI(image, datatype: .float32, origin: series.originMM, timepoint: t,
                               path: base + "/t\(t).nii.gz", description: "synthetic scan \(timeLabels[t])")
                try writeNIfTI(labelVolume.map(Float.init), datatype: .uint8, origin: series.originMM, timepoint: t,
                               path: base + "/t\(t)_labels.nii.gz", description: "lesion ids \(timeLabels[t])")
                for label in labelVolume where label > 0 { voxels[Int(label) - 1][t] += 1 }
                for pair in touchingLabels(labelVolume) where !merges.contains(where: { $0.ids == pair }) {
                    merges.append(LesionMerge(ids: pair, firstTimepoint: t))
                }
            }
            try scans.finish()
            try labels.finish()

            let voxelMM3 = config.spacing.voxelVolumeMM3
            let record = LesionRecord(
                patient: folder, timeLabels: timeLabels,
                spacingMm: [config.spacing.x, config.spacing.y, config.spacing.z], originMm: series.originMM,
                voxelVolumeMm3: voxelMM3,
                lesions: series.lesions.map { lesion in
                    LesionEntry(id: lesion.id, course: lesion.course.rawValue, centreMm: lesion.centreMM,
                                radiiMm: lesion.radiiMM, sizeFactor: lesion.sizeFactor,
                                voxels: voxels[lesion.id - 1], volumeMm3: voxels[lesion.id - 1].map { Double($0) * voxelMM3 })
                },
                totalVolumeMm3: (0..<config.timepoints).map { t in Double(voxels.reduce(0) { $0 + $1[t] }) * voxelMM3 },
                merges: merges)
            try SynthSupport.writeFile(try SynthSupport.json(record), to: base + "/lesions.json")
            files += ["scans.h5", "lesions.h5"].map { folder + "/" + $0 }
            files += (0..<config.timepoints).flatMap { ["\(folder)/t\($0).nii.gz", "\(folder)/t\($0)_labels.nii.gz"] }
            files.append(folder + "/lesions.json")
            lesionCount += series.lesions.count
            mergeCount += merges.count
        }
        return SynthSummary(scenario: .lesions, outputDirectory: root, seed: config.seed, files: files,
                            counts: ["patients": Double(config.patients), "timepoints": Double(config.timepoints),
                                     "lesions": Double(lesionCount), "merges": Double(mergeCount)])
    }

    /// A 3-D NIfTI with scanner-space qform and sform: identity rotation, `pixdim` = spacing (mm), offsets = origin.
    private func writeNIfTI(_ values: [Float], datatype: NIfTIHeader.Datatype, origin: [Double], timepoint: Int,
                            path: String, description: String) throws {
        var header = try NIfTIHeader(width: config.width, height: config.height, depth: config.depth, steps: 1,
                                     datatype: datatype, spacing: config.spacing)
        let s = config.spacing
        header.qformCode = 1
        header.sformCode = 1
        header.pixdim[0] = 1
        (header.quaternB, header.quaternC, header.quaternD) = (0, 0, 0)
        (header.qoffsetX, header.qoffsetY, header.qoffsetZ) = (Float(origin[0]), Float(origin[1]), Float(origin[2]))
        header.srowX = [Float(s.x), 0, 0, Float(origin[0])]
        header.srowY = [0, Float(s.y), 0, Float(origin[1])]
        header.srowZ = [0, 0, Float(s.z), Float(origin[2])]
        if datatype == .uint8 {
            header.calMax = Float(255)
            header.intentCode = 1002  // NIFTI_INTENT_LABEL
        }
        let text = Array(description.utf8.prefix(79))
        header.descrip = text + [UInt8](repeating: 0, count: 80 - text.count)
        try NIfTIWriter.write(Tensor(shape: [1, 1, config.depth, config.height, config.width], values: values), to: path,
                              header: header)
    }

    /// Pairs of lesion ids whose labels share a face somewhere in the volume, sorted.
    private func touchingLabels(_ labels: [UInt8]) -> [[Int]] {
        let (w, h, d) = (config.width, config.height, config.depth)
        var pairs = Set<[Int]>()
        for z in 0..<d {
            for y in 0..<h {
                for x in 0..<w {
                    let a = labels[(z * h + y) * w + x]
                    guard a > 0 else { continue }
                    for (nx, ny, nz) in [(x + 1, y, z), (x, y + 1, z), (x, y, z + 1)] where nx < w && ny < h && nz < d {
                        let b = labels[(nz * h + ny) * w + nx]
                        if b > 0, b != a { pairs.insert([Int(min(a, b)), Int(max(a, b))]) }
                    }
                }
            }
        }
        return pairs.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }
    }
}

/// Two lesions whose labels touch from `firstTimepoint` on (each voxel keeps the id of its nearer lesion).
struct LesionMerge: Codable, Equatable {
    var ids: [Int]
    var firstTimepoint: Int
}

struct LesionEntry: Codable {
    var id: Int
    var course: String
    var centreMm: [Double]
    var radiiMm: [Double]
    var sizeFactor: [Double]
    var voxels: [Int]
    var volumeMm3: [Double]
}

/// `patient_XXX/lesions.json`.
struct LesionRecord: Codable {
    var patient: String
    var timeLabels: [String]
    var spacingMm: [Double]
    var originMm: [Double]
    var voxelVolumeMm3: Double
    var lesions: [LesionEntry]
    var totalVolumeMm3: [Double]
    var merges: [LesionMerge]
}
