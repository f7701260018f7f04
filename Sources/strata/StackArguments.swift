import ArgumentParser
import Foundation
import StrataCore
import StrataIO

/// Options that say how inputs form a time stack; shared by every subcommand that reads stacks.
struct StackArguments: ParsableArguments {
    @Option(help: "Comma-separated dates (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ), one per input file, overriding dates in names and metadata.")
    var dates: String?

    @Option(help: "Read one multi-band raster as N bands per time step (band order t1b1..t1bN, t2b1..).")
    var bandsPerStep: Int?

    @Flag(help: "Take the input order as the time order (for files without dates).")
    var keepOrder = false

    @Flag(help: "Warp members onto the first member's grid instead of failing on a grid mismatch.")
    var align = false

    /// Opens `inputs` as one stack; a raster grid mismatch that warping can fix says so in its (one-line) message.
    func open(_ inputs: [String]) throws -> InputStack {
        do {
            return try InputStack.open(inputs, options: try options())
        } catch let error as StrataError {
            // Volumes (NIfTI, HDF5) are never warped: --align is for rasters only.
            let volumes = inputs.contains(where: InputStack.isVolume)
            if case .gridMismatch(let file, let reference, let property, let expected, let found) = error, !align,
               !volumes, ["size", "geotransform", "CRS"].contains(property) {
                throw StrataError.invalidArgument(
                    name: file, reason: "\(property) differs from \(reference) (expected \(expected), found \(found)); "
                        + "pass --align to warp every member onto the first one's grid")
            }
            throw error
        }
    }

    func options() throws -> StackOptions {
        StackOptions(dates: try dates.map(Self.parseDates), bandsPerStep: bandsPerStep, keepOrder: keepOrder,
                     align: align)
    }

    /// `YYYY-MM-DD` (midnight UTC) or a full ISO 8601 date-time (`2021-06-05T10:30:00Z`, offsets allowed), whose
    /// time is kept rather than dropped.
    static func parseDates(_ text: String) throws -> [Date] {
        let day = ISO8601DateFormatter(), moment = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        day.timeZone = TimeZone(identifier: "UTC")
        moment.formatOptions = [.withInternetDateTime]
        return try text.split(separator: ",").map { part in
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            let date = trimmed.contains("T") ? moment.date(from: trimmed)
                : trimmed.count == 10 ? day.date(from: trimmed) : nil
            guard let date else {
                throw StrataError.invalidArgument(
                    name: "--dates", reason: "'\(trimmed)' is not a YYYY-MM-DD date or an ISO 8601 date-time "
                        + "(YYYY-MM-DDTHH:MM:SSZ)")
            }
            return date
        }
    }
}
