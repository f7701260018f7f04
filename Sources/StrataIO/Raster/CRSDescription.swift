import CGDAL
import StrataCore

/// Turns OGR spatial references into Strata's ``CRS`` and into short labels for error messages.
enum CRSDescription {
    /// WKT2 (2019) text and the EPSG code found by `OSRAutoIdentifyEPSG` (on a clone: identification edits it).
    static func crs(_ srs: OGRSpatialReferenceH) -> CRS {
        var text: UnsafeMutablePointer<CChar>?
        let wkt: String = GDALStrings.withConstList(["FORMAT=WKT2_2019"]) { options in
            guard OSRExportToWktEx(srs, &text, options) == OGRERR_NONE, let text else { return "" }
            return String(cString: text)
        }
        VSIFree(text)
        return CRS(wkt: wkt, epsg: epsg(srs))
    }

    static func epsg(_ srs: OGRSpatialReferenceH) -> Int? {
        guard let copy = OSRClone(srs) else { return nil }
        defer { OSRDestroySpatialReference(copy) }
        if OSRGetAuthorityName(copy, nil) == nil { _ = OSRAutoIdentifyEPSG(copy) }
        guard let authority = OSRGetAuthorityName(copy, nil), String(cString: authority) == "EPSG",
            let code = OSRGetAuthorityCode(copy, nil)
        else { return nil }
        return Int(String(cString: code))
    }

    /// `EPSG:32633`, else the CRS name, else `none`.
    static func label(_ srs: OGRSpatialReferenceH?) -> String {
        guard let srs else { return "none" }
        if let code = epsg(srs) { return "EPSG:\(code)" }
        if let name = OSRGetName(srs) { return String(cString: name) }
        return "unnamed CRS"
    }
}
