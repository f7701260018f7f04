import Foundation
import StrataCore

/// Decodes CF-convention time coordinates (`days since 1950-01-01`, calendar attribute) into UTC seconds.
///
/// Supported units: `days`, `hours`, `minutes`, `seconds` (and their singular/abbreviated forms `day`, `d`, `hour`,
/// `hr`, `h`, `minute`, `min`, `second`, `sec`, `s`) `since` a reference date `YYYY-MM-DD[ hh:mm[:ss]][ UTC|Z]`.
/// Calendars: `standard`, `gregorian`, `proleptic_gregorian` (read as proleptic Gregorian; a reference date before
/// the 1582-10-15 Julian→Gregorian switch is refused for `standard`/`gregorian`), and `noleap`/`365_day` (converted
/// exactly: every no-leap date is a real date). `360_day`, `all_leap`/`366_day` and `julian` label days that are not
/// real Gregorian dates (e.g. February 30) and are refused with ``StrataError/unsupported(path:reason:)``.
/// `months since`/`years since` are refused too: CF defines them as fixed fractions of a year, not calendar months.
///
/// ```swift
/// try CFTime.decode([17927], units: "days since 1950-01-01 00:00:00", calendar: "standard", path: "f.nc")
/// // [seconds of 1999-01-31T00:00:00Z]
/// ```
enum CFTime {
    static func decode(_ values: [Double], units: String, calendar: String?, path: String) throws -> [Int64] {
        let parts = units.trimmingCharacters(in: .whitespaces).components(separatedBy: " since ")
        guard parts.count == 2 else {
            throw StrataError.unsupported(path: path, reason: "time units '\(units)' are not '<unit> since <date>'")
        }
        let unit = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
        let unitSeconds: Double
        switch unit {
        case "days", "day", "d": unitSeconds = 86_400
        case "hours", "hour", "hr", "hrs", "h": unitSeconds = 3600
        case "minutes", "minute", "min", "mins": unitSeconds = 60
        case "seconds", "second", "sec", "secs", "s": unitSeconds = 1
        default:
            throw StrataError.unsupported(path: path, reason: "time unit '\(unit)' in '\(units)'; "
                + "supported: days, hours, minutes, seconds since a date")
        }
        let reference = try parseReference(parts[1], units: units, path: path)
        let name = (calendar ?? "standard").trimmingCharacters(in: .whitespaces).lowercased()
        switch name {
        case "standard", "gregorian", "proleptic_gregorian", "":
            if name != "proleptic_gregorian",
                (reference.year, reference.month, reference.day) < (1582, 10, 15)
            {
                throw StrataError.unsupported(path: path, reason: "calendar '\(name)' with reference date before "
                    + "1582-10-15 mixes Julian and Gregorian days; Strata reads proleptic Gregorian only")
            }
            guard let origin = CivilTime.seconds(year: reference.year, month: reference.month, day: reference.day)
            else { throw StrataError.unsupported(path: path, reason: "invalid reference date in '\(units)'") }
            return values.map { origin + reference.secondOfDay + roundedSeconds($0 * unitSeconds) }
        case "noleap", "365_day":
            return try values.map { value in
                try noLeapSeconds(reference, plus: roundedSeconds(value * unitSeconds), units: units, path: path)
            }
        default:
            throw StrataError.unsupported(path: path, reason: "calendar '\(name)' has days that are not real dates; "
                + "convert the file to the standard calendar first (e.g. `cdo setcalendar,standard`)")
        }
    }

    private struct Reference {
        var year: Int, month: Int, day: Int
        var secondOfDay: Int64
    }

    private static func roundedSeconds(_ value: Double) -> Int64 { Int64(value.rounded()) }

    private static func parseReference(_ text: String, units: String, path: String) throws -> Reference {
        var body = text.trimmingCharacters(in: .whitespaces)
        for zone in [" UTC", " utc", "Z", " GMT"] where body.hasSuffix(zone) { body = String(body.dropLast(zone.count)) }
        // A trailing numeric zone (`+05:30`, `-3`) would shift every label; refuse rather than guess.
        if body.range(of: #"[T ].*[+-]\d"#, options: .regularExpression) != nil
            || body.range(of: #"\s[+-]\d"#, options: .regularExpression) != nil
        {
            throw StrataError.unsupported(path: path, reason: "time zone offset in '\(units)'; only UTC is supported")
        }
        let negativeYear = body.hasPrefix("-")
        let fields = body.split(whereSeparator: { !$0.isNumber && $0 != "." }).map(String.init)
        guard fields.count >= 3, var year = Int(fields[0]), let month = Int(fields[1]), let day = Int(fields[2]) else {
            throw StrataError.unsupported(path: path, reason: "cannot read the reference date in '\(units)'")
        }
        if negativeYear { year = -year }
        let hour = fields.count > 3 ? Int(fields[3]) ?? 0 : 0
        let minute = fields.count > 4 ? Int(fields[4]) ?? 0 : 0
        let second = fields.count > 5 ? Double(fields[5]) ?? 0 : 0
        return Reference(year: year, month: month, day: day,
                         secondOfDay: Int64(hour * 3600 + minute * 60) + Int64(second.rounded()))
    }

    // Cumulative days before each month in a 365-day year.
    private static let daysBeforeMonth = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365]

    private static func noLeapSeconds(_ reference: Reference, plus offset: Int64, units: String, path: String) throws
        -> Int64
    {
        guard (1...12).contains(reference.month), reference.day >= 1,
            reference.day <= daysBeforeMonth[reference.month] - daysBeforeMonth[reference.month - 1]
        else { throw StrataError.unsupported(path: path, reason: "invalid no-leap reference date in '\(units)'") }
        // Count seconds in the no-leap calendar, then map the resulting (year, month, day) to a real date.
        let referenceDay = Int64(reference.year) * 365 + Int64(daysBeforeMonth[reference.month - 1] + reference.day - 1)
        let total = referenceDay * 86_400 + reference.secondOfDay + offset
        let dayNumber = Int64((Double(total) / 86_400).rounded(.down))
        let secondOfDay = total - dayNumber * 86_400
        let year = Int((Double(dayNumber) / 365).rounded(.down))
        let dayOfYear = Int(dayNumber - Int64(year) * 365)
        let month = daysBeforeMonth.lastIndex(where: { $0 <= dayOfYear })! + 1
        let day = dayOfYear - daysBeforeMonth[month - 1] + 1
        return Int64(CivilTime.days(year: year, month: month, day: day)) * 86_400 + secondOfDay
    }
}
