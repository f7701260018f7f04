import ArgumentParser
import Foundation
import StrataCore
import StrataIO

/// Options that say how inputs form a time stack; shared by every subcommand that reads stacks.
struct StackArguments: ParsableArguments {
    @Option(help: "Comma-separated dates (YYYY-MM-DD), one per input file, overriding dates in names and metadata.")
    var dates: String?

    @Option(help: "Read one multi-band raster as N bands per time step (band order t1b1..t1bN, t2b1..).")
    var bandsPerStep: Int?

    @Flag(help: "Take the input order as the time order (for files without dates).")
    var keepOrder = false

    @Flag(help: "Warp members onto the first member's grid instead of failing on a grid mismatch.")
    var align = false

    /// Opens `inputs` as one stack; on a grid mismatch that warping can fix, also tells the user about `--align`.
    func open(_ inputs: [String]) throws -> InputStack {
        do {
            return try InputStack.open(inputs, options: try options())
        } catch let error as StrataError {
            if case .gridMismatch(_, _, let property, _, _) = error, !align,
               ["size", "geotransform", "CRS"].contains(property) {
                FileHandle.standardError.write(Data(
                    "strata: hint: pass --align to warp every member onto the first one's grid\n".utf8))
            }
            throw error
        }
    }

    func options() throws -> StackOptions {
        StackOptions(dates: try dates.map(Self.parseDates), bandsPerStep: bandsPerStep, keepOrder: keepOrder,
                     align: align)
    }

    static func parseDates(_ text: String) throws -> [Date] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return try text.split(separator: ",").map { part in
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let date = formatter.date(from: trimmed) else {
                throw StrataError.invalidArgument(name: "--dates", reason: "'\(trimmed)' is not a YYYY-MM-DD date")
            }
            return date
        }
    }
}
