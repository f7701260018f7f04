import Foundation

/// Proleptic Gregorian calendar arithmetic on whole seconds since 1970-01-01T00:00:00Z (UTC, no leap seconds).
///
/// Dates are kept as `Int64` seconds so that labels decoded from netCDF, file names and metadata compare exactly
/// (two files of the same day are the same date, never 1e-9 s apart).
enum CivilTime {
    /// Days from 1970-01-01 to `year-month-day` (proleptic Gregorian; Howard Hinnant's days_from_civil).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The calendar date of a day count from 1970-01-01 (inverse of ``days(year:month:day:)``).
    static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Seconds since the epoch for a valid date and time of day, or `nil` when a field is out of range.
    static func seconds(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) -> Int64? {
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        return Int64(days(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// ISO 8601: `YYYY-MM-DD` at midnight, else `YYYY-MM-DDTHH:MM:SSZ`.
    static func iso8601(_ seconds: Int64) -> String {
        let dayNumber = Int((Double(seconds) / 86_400).rounded(.down))
        let secondOfDay = Int(seconds - Int64(dayNumber) * 86_400)
        let (y, m, d) = civil(days: dayNumber)
        let date = String(format: "%04d-%02d-%02d", y, m, d)
        if secondOfDay == 0 { return date }
        return date + String(format: "T%02d:%02d:%02dZ", secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60)
    }

    /// Parses the date-time texts found in raster metadata: `2021-06-05`, `2021:06:05 10:15:59` (TIFF),
    /// `2021-06-05T10:15:59.123Z`, `20210605`. Fractions of a second are dropped; a time zone other than UTC/`Z`
    /// is not applied (metadata dates are UTC in every format Strata has seen).
    static func parseTimestamp(_ text: String) -> Int64? {
        let groups = text.split(whereSeparator: { !$0.isNumber }).map(String.init)
        guard let first = groups.first else { return nil }
        var fields: [Int]
        if first.count == 8 {
            // 20210605 or 20210605T101559
            let digits = Array(first)
            fields = [Int(String(digits[0..<4]))!, Int(String(digits[4..<6]))!, Int(String(digits[6..<8]))!]
            if groups.count > 1, groups[1].count == 6, let time = Int(groups[1]) {
                fields += [time / 10_000, time / 100 % 100, time % 100]
            }
        } else {
            guard first.count == 4, groups.count >= 3 else { return nil }
            fields = groups.prefix(6).compactMap { Int($0) }
        }
        while fields.count < 6 { fields.append(0) }
        guard (1000...9999).contains(fields[0]) else { return nil }
        return seconds(year: fields[0], month: fields[1], day: fields[2], hour: fields[3], minute: fields[4],
                       second: fields[5])
    }
}
