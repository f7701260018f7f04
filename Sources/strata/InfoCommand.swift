import ArgumentParser
import Foundation
import StrataCore
import StrataIO

/// `strata info`: what a user needs to know about an input before training.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a time stack: steps and dates, bands, size, data type, CRS or voxel spacing, nodata.",
        discussion: """
            Inputs form one time stack:
              strata info scene_20210605.tif scene_20210710.tif     dated single-date rasters (dates from names)
              strata info 'NETCDF:"cube.nc":pr'                     a netCDF variable with a time dimension
              strata info series.tif --bands-per-step 4             one multi-band raster, 4 bands per step
              strata info scans.h5:/patient1/flair                  an HDF5 dataset [T, (C,) (D,) H, W]
              strata info bold.nii.gz                               a 4-D NIfTI (or several 3-D ones)
            --json prints one object with stable keys (docs/cli.md).
            """
    )

    @Argument(help: "Input files or GDAL dataset names forming one time stack.")
    var inputs: [String]

    @OptionGroup var stack: StackArguments

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let info = try stack.open(inputs).info
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            // JSON has no NaN or infinity; a NaN nodata is common in float rasters. Written as strings, as
            // `gdalinfo -json` writes its noDataValue.
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf",
                                                                          negativeInfinity: "-inf", nan: "nan")
            print(String(decoding: try encoder.encode(info), as: UTF8.self))
        } else {
            print(info.summary)
        }
    }
}
