import Foundation
import StrataCore

/// How to form a time stack from the inputs a user names (the CLI's `--dates`, `--bands-per-step`, `--align`).
public struct StackOptions: Sendable {
    /// One date per input file, in the order given; overrides dates in names and metadata.
    public var dates: [Date]?
    /// Read one multi-band raster as this many bands per step.
    public var bandsPerStep: Int?
    /// Take the input order as the time order (for files that carry no dates).
    public var keepOrder: Bool
    /// Warp members whose grid differs onto the first member's grid instead of failing.
    public var align: Bool

    public init(dates: [Date]? = nil, bandsPerStep: Int? = nil, keepOrder: Bool = false, align: Bool = false) {
        self.dates = dates
        self.bandsPerStep = bandsPerStep
        self.keepOrder = keepOrder
        self.align = align
    }
}

/// Any input Strata reads as a time stack: rasters through GDAL, or volumes (HDF5, NIfTI).
///
/// ```swift
/// let stack = try InputStack.open(["scan.h5:/patient1/t1"])
/// print(stack.info.steps)
/// ```
public enum InputStack {
    case raster(RasterStack)
    case volume(VolumeStack)

    /// Opens the inputs `patterns` names: NIfTI files (`.nii`, `.nii.gz`) and HDF5 datasets (`file.h5:/path`) as volumes, anything
    /// else as rasters (a series of dated files, one multi-band file with `bandsPerStep`, or a netCDF/Zarr cube).
    /// A quoted glob among `inputs` (`'scenes/scene_*.tif'`) stands for the files it matches, sorted.
    public static func open(_ patterns: [String], options: StackOptions = StackOptions()) throws -> InputStack {
        guard !patterns.isEmpty else { throw StrataError.invalidStack(reason: "no input given") }
        let inputs = try patterns.flatMap { pattern in
            let files = InputPath.matches(pattern)
            guard !files.isEmpty else { throw StrataError.invalidArgument(name: pattern, reason: "matches no file") }
            return files
        }
        let volumes = inputs.filter(isVolume)
        if !volumes.isEmpty {
            guard volumes.count == inputs.count else {
                throw StrataError.invalidArgument(
                    name: inputs.first { !isVolume($0) }!,
                    reason: "cannot mix rasters with volumes (\(volumes[0])) in one stack")
            }
            if options.bandsPerStep != nil || options.dates != nil || options.align {
                throw StrataError.invalidArgument(
                    name: "--bands-per-step/--dates/--align", reason: "apply to raster stacks, not volumes")
            }
            return .volume(try VolumeStack(paths: inputs))
        }
        return .raster(try RasterStack.open(inputs, dates: options.dates, bandsPerStep: options.bandsPerStep,
                                            keepOrder: options.keepOrder, align: options.align))
    }

    /// What `strata info` reports.
    public var info: StackInfo {
        switch self {
        case .raster(let stack): return stack.info
        case .volume(let stack): return stack.info
        }
    }

    /// NIfTI by extension, HDF5 by extension (a bare file or `file.h5:/dataset`); GDAL dataset names such as
    /// `HDF5:"file.h5"://var` stay rasters.
    public static func isVolume(_ input: String) -> Bool {
        let lower = input.lowercased()
        if ["hdf5:", "netcdf:", "zarr:"].contains(where: lower.hasPrefix) { return false }
        if lower.hasSuffix(".nii") || lower.hasSuffix(".nii.gz") { return true }
        if HDF5Address(input) != nil { return true }
        return lower.hasSuffix(".h5") || lower.hasSuffix(".hdf5")
    }
}
