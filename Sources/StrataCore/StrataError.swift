/// The one error type Strata throws on user input and I/O.
///
/// Every case names the file (or option) it is about and says what is wrong, so that the CLI can print
/// `strata: error: <description>` and exit with ``exitCode`` without a stack trace.
///
/// ```swift
/// throw StrataError.gridMismatch(file: "b.tif", reference: "a.tif", property: "CRS",
///                                expected: "EPSG:32633", found: "EPSG:32634")
/// ```
public enum StrataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A path that does not exist.
    case fileNotFound(path: String)
    /// A path that exists but is a directory where a file is required.
    case isDirectory(path: String)
    /// A file of zero bytes.
    case emptyFile(path: String)
    /// A file no reader recognises (text named `.tif`, a truncated file, an unknown format).
    case unreadable(path: String, reason: String)
    /// A file that is readable but holds something Strata does not support (complex bands, an odd data type).
    case unsupported(path: String, reason: String)
    /// A malformed header or structure inside a file Strata parses itself (NIfTI, safetensors).
    case invalidHeader(path: String, reason: String)
    /// Two members of a stack disagree on a grid property (size, geotransform, CRS, band count).
    case gridMismatch(file: String, reference: String, property: String, expected: String, found: String)
    /// Two members of a stack carry the same date.
    case duplicateDate(file: String, other: String, date: String)
    /// An HDF5 path (or netCDF variable) that is not in the file.
    case noSuchDataset(path: String, dataset: String)
    /// A dataset whose rank cannot be read as a time stack.
    case badRank(path: String, dataset: String, rank: Int, expected: String)
    /// A variable without a time dimension where a time stack is required.
    case missingTimeDimension(path: String, variable: String)
    /// An empty stack, a stack too short, or otherwise unusable as a whole.
    case invalidStack(reason: String)
    /// A command-line option or configuration value that is out of range or malformed.
    case invalidArgument(name: String, reason: String)
    /// An output that cannot be written where asked (missing folder, no permission).
    case outputNotWritable(path: String, reason: String)
    /// A read or write that failed part-way for a reason outside the user's input (disk full, library error).
    case ioFailure(path: String, reason: String)
    /// A broken invariant inside Strata: a bug, never the user's fault.
    case internalError(String)

    /// The process exit code for this error: 2 for bad input or usage, 1 for anything else.
    public var exitCode: Int32 {
        switch self {
        case .ioFailure, .internalError: return 1
        default: return 2
        }
    }

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "\(path): no such file or directory"
        case .isDirectory(let path): return "\(path): is a directory, expected a file"
        case .emptyFile(let path): return "\(path): file is empty (0 bytes)"
        case .unreadable(let path, let reason): return "\(path): cannot be read: \(reason)"
        case .unsupported(let path, let reason): return "\(path): unsupported: \(reason)"
        case .invalidHeader(let path, let reason): return "\(path): invalid header: \(reason)"
        case .gridMismatch(let file, let reference, let property, let expected, let found):
            return "\(file): \(property) differs from \(reference) (expected \(expected), found \(found))"
        case .duplicateDate(let file, let other, let date):
            return "\(file): date \(date) is also the date of \(other); each time step needs its own date"
        case .noSuchDataset(let path, let dataset): return "\(path): no dataset '\(dataset)'"
        case .badRank(let path, let dataset, let rank, let expected):
            return "\(path): dataset '\(dataset)' has rank \(rank), expected \(expected)"
        case .missingTimeDimension(let path, let variable):
            return "\(path): variable '\(variable)' has no time dimension; a time stack needs one"
        case .invalidStack(let reason): return "invalid stack: \(reason)"
        case .invalidArgument(let name, let reason): return "\(name): \(reason)"
        case .outputNotWritable(let path, let reason): return "\(path): cannot write output: \(reason)"
        case .ioFailure(let path, let reason): return "\(path): I/O failure: \(reason)"
        case .internalError(let message): return "internal error (please report): \(message)"
        }
    }
}
