import Foundation
import StrataCore

/// Puts the members of a raster series in time order and labels them (rules in docs/formats-raster.md).
///
/// Dates come from, in order of precedence: the explicit `dates` list (one per file, same order as the files);
/// else each file's name (``FileNameDate``); else its metadata (``AcquisitionDate``). With a date for every file the
/// series is sorted by date and two equal dates are ``StrataError/duplicateDate(file:other:date:)``. A file without
/// any date is an error unless `keepOrder` is set (or there is a single file): then the input order is the time
/// order and no step gets a date (labels are all or nothing, so a partial set never suggests a wrong order).
/// `keepOrder` with dates on every file keeps the input order but still reports the dates and refuses duplicates.
enum SeriesOrder {
    /// Indices into `names` in time order, and the date (seconds since 1970, UTC) of each ordered step or `nil`.
    static func order(names: [String], dates: [Date]?, found: [Int64?], keepOrder: Bool) throws
        -> (order: [Int], seconds: [Int64]?)
    {
        var labels: [Int64?] = found
        if let dates {
            guard dates.count == names.count else {
                throw StrataError.invalidArgument(name: "dates",
                                                  reason: "\(dates.count) dates for \(names.count) files")
            }
            labels = dates.map { Int64($0.timeIntervalSince1970.rounded()) }
        }
        let complete = labels.compactMap { $0 }
        guard complete.count == names.count else {
            if keepOrder || names.count == 1 { return (Array(names.indices), nil) }
            let missing = names[labels.firstIndex(where: { $0 == nil })!]
            throw StrataError.invalidStack(reason: "\(missing): no date in its file name or metadata; "
                + "give one date per file, or keep the input order as the time order (keepOrder / --keep-order)")
        }
        let order = keepOrder && dates == nil
            ? Array(names.indices)
            : names.indices.sorted { (complete[$0], $0) < (complete[$1], $1) }
        var seen: [Int64: Int] = [:]
        for index in order {
            if let other = seen[complete[index]] {
                throw StrataError.duplicateDate(file: names[index], other: names[other],
                                                date: CivilTime.iso8601(complete[index]))
            }
            seen[complete[index]] = index
        }
        return (order, order.map { complete[$0] })
    }
}
