import Foundation

/// ISO 8601 time labels (`2024-03-01`, `2024-03-01T12:00:00Z`) as seconds since 1970, for time offsets.
enum ISOTime {
    /// Seconds since 1970-01-01T00:00:00Z, or `nil` when `label` is not an ISO 8601 date or date-time.
    /// Date-times without a zone are taken as UTC.
    static func seconds(_ label: String) -> Double? {
        let attempts: [ISO8601DateFormatter.Options] = [
            [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds], [.withFullDate],
            [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate],
        ]
        for options in attempts {
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.formatOptions = options
            if let date = formatter.date(from: label) { return date.timeIntervalSince1970 }
        }
        return nil
    }
}
