import Foundation

/// Finds the acquisition date in a raster's file name.
///
/// The rule (documented in docs/formats-raster.md): scan the file name (without folder and extension) left to
/// right and take the **first** digit group that is a valid date with a year in 1900–2100:
///
/// - `YYYY-MM-DD`, or with `_` or `.` as both separators, e.g. `ndvi_2021-06-05.tif`, `ndvi_2021_06_05.tif`;
/// - 8 digits `YYYYMMDD`, optionally followed by `THHMMSS`, e.g. `S2A_MSIL2A_20210605T101559_N0300_…` gives
///   2021-06-05T10:15:59Z (the second date in Sentinel-2 names is the processing date, hence "first wins");
///   Landsat Collection 2 `LC08_L2SP_044034_20210605_20210614_02_T1` gives 2021-06-05 (acquisition, not processing);
/// - 14 digits `YYYYMMDDhhmmss`;
/// - 7 digits `YYYYDOY` (year and day of year), e.g. MODIS `MOD13Q1.A2021156.h18v04…` or `LC08_…_2021156…`;
/// - pre-2017 Landsat scene IDs `LC80440342021156LGN00` (sensor, path, row run into the date): the last 7 digits
///   of the 14-digit group are `YYYYDOY`.
///
/// Digit groups of other lengths (path/row `044034`, tile `T32TQM`, orbit `R065`) are never dates.
///
/// ```swift
/// FileNameDate.seconds(in: "/data/LC08_L2SP_044034_20210605_20210614_02_T1_SR.tif")  // 2021-06-05
/// ```
enum FileNameDate {
    static let years = 1900...2100

    /// Seconds since 1970 (UTC) of the date in `path`'s file name, or `nil` when the name holds none.
    static func seconds(in path: String) -> Int64? {
        var name = Substring(path.split(separator: "/").last ?? Substring(path))
        // Strip only the final extension: MODIS names carry dots inside.
        if let ext = name.range(of: #"\.[A-Za-z0-9]{1,5}$"#, options: .regularExpression) {
            name = name[..<ext.lowerBound]
        }
        let chars = Array(name)
        let isOldLandsat = chars.count > 3 && chars[0] == "L" && "COTEM".contains(chars[1]) && chars[2].isNumber
        var i = 0
        while i < chars.count {
            guard chars[i].isNumber else { i += 1; continue }
            var end = i
            while end < chars.count, chars[end].isNumber { end += 1 }
            let run = String(chars[i..<end])
            if let found = date(run: run, after: Array(chars[end...]), oldLandsat: isOldLandsat) { return found }
            i = end
        }
        return nil
    }

    private static func number(_ s: Substring) -> Int { Int(s)! }

    private static func date(run: String, after rest: [Character], oldLandsat: Bool) -> Int64? {
        let d = Substring(run)
        func part(_ from: Int, _ count: Int) -> Int {
            number(d.dropFirst(from).prefix(count))
        }
        switch run.count {
        case 4:
            // YYYY-MM-DD (or `_`/`.` used the same way twice): "-MM-DD" follows, then no further digit.
            guard rest.count >= 6, "-_.".contains(rest[0]), rest[3] == rest[0],
                rest[1].isNumber, rest[2].isNumber, rest[4].isNumber, rest[5].isNumber,
                rest.count == 6 || !rest[6].isNumber
            else { return nil }
            let month = Int(String(rest[1...2]))!, day = Int(String(rest[4...5]))!
            return valid(year: part(0, 4), month: month, day: day)
        case 8:
            guard let day = valid(year: part(0, 4), month: part(4, 2), day: part(6, 2)) else { return nil }
            if rest.count >= 7, rest[0] == "T", rest[1...6].allSatisfy(\.isNumber), rest.count == 7 || !rest[7].isNumber,
                let time = Int(String(rest[1...6])), time / 10_000 < 24, time / 100 % 100 < 60, time % 100 < 60
            {
                return day + Int64(time / 10_000 * 3600 + time / 100 % 100 * 60 + time % 100)
            }
            return day
        case 14:
            if let day = valid(year: part(0, 4), month: part(4, 2), day: part(6, 2)),
                part(8, 2) < 24, part(10, 2) < 60, part(12, 2) < 60
            {
                return day + Int64(part(8, 2) * 3600 + part(10, 2) * 60 + part(12, 2))
            }
            return oldLandsat ? dayOfYear(year: part(7, 4), day: part(11, 3)) : nil
        case 7:
            return dayOfYear(year: part(0, 4), day: part(4, 3))
        default:
            return nil
        }
    }

    private static func valid(year: Int, month: Int, day: Int) -> Int64? {
        guard years.contains(year) else { return nil }
        return CivilTime.seconds(year: year, month: month, day: day)
    }

    private static func dayOfYear(year: Int, day: Int) -> Int64? {
        guard years.contains(year), day >= 1, day <= (CivilTime.isLeap(year) ? 366 : 365) else { return nil }
        return Int64(CivilTime.days(year: year, month: 1, day: 1) + day - 1) * 86_400
    }
}
