import CGDAL

/// Finds an acquisition date in a raster's GDAL metadata, for files whose names carry none.
///
/// Keys are tried in this order, in the default domain and then the `IMAGERY` domain: `ACQUISITIONDATETIME`
/// (GDAL's imagery metadata), `DATE_ACQUIRED` (Landsat MTL), `ACQUISITION_DATE`, `SENSING_TIME`, `DATETIME`,
/// and last `TIFFTAG_DATETIME` (often the time the file was written, so it only counts when nothing else does).
enum AcquisitionDate {
    static let keys = ["ACQUISITIONDATETIME", "DATE_ACQUIRED", "ACQUISITION_DATE", "SENSING_TIME", "DATETIME",
                       "TIFFTAG_DATETIME"]

    /// Seconds since 1970 (UTC) from the metadata of `handle`, or `nil`.
    static func seconds(in handle: GDALDatasetH) -> Int64? {
        let domains = [GDALStrings.metadata(handle), GDALStrings.metadata(handle, domain: "IMAGERY")]
        for key in keys {
            for metadata in domains {
                if let text = metadata[key], let seconds = CivilTime.parseTimestamp(text) { return seconds }
            }
        }
        return nil
    }
}
