import CGDAL
import StrataCore

/// Checks that a stack member's grid agrees with the reference (the first member in time order).
///
/// Properties, in the order checked: band count, data type category (integer vs floating point), CRS
/// (`OSRIsSame`), size, geotransform. Geotransform tolerance: origins within 1e-3 pixel, pixel sizes and rotation
/// terms within 1e-6 pixel (files written by different tools round coordinates differently).
enum GridAgreement {
    /// Returns `true` when `member` must be warped onto the reference grid (only with `align`); throws
    /// ``StrataError/gridMismatch(file:reference:property:expected:found:)`` for a disagreement warping cannot fix
    /// (band count, data type, a CRS on one side only) or any disagreement without `align`.
    static func check(_ member: RasterSource, against reference: RasterSource, align: Bool) throws -> Bool {
        func mismatch(_ property: String, _ expected: String, _ found: String) -> StrataError {
            .gridMismatch(file: member.name, reference: reference.name, property: property, expected: expected,
                          found: found)
        }
        if member.bands.count != reference.bands.count {
            throw mismatch("band count", "\(reference.bands.count)", "\(member.bands.count)")
        }
        if member.sampleType.isInteger != reference.sampleType.isInteger {
            throw mismatch("data type", reference.sampleType.rawValue, member.sampleType.rawValue)
        }
        var differs = false
        switch (reference.spatialReference, member.spatialReference) {
        case (nil, nil): break
        case let (expected?, found?):
            if OSRIsSame(expected, found) == 0 {
                guard align else {
                    throw mismatch("CRS", CRSDescription.label(expected), CRSDescription.label(found))
                }
                differs = true
            }
        default:
            throw mismatch("CRS", CRSDescription.label(reference.spatialReference),
                           CRSDescription.label(member.spatialReference))
        }
        if member.width != reference.width || member.height != reference.height {
            guard align else {
                throw mismatch("size", "\(reference.width)x\(reference.height)", "\(member.width)x\(member.height)")
            }
            differs = true
        }
        if !differs, !sameGeoTransform(member.geoTransform, reference.geoTransform) {
            guard align else {
                throw mismatch("geotransform", format(reference.geoTransform), format(member.geoTransform))
            }
            differs = true
        }
        return differs
    }

    static func sameGeoTransform(_ a: [Double], _ b: [Double]) -> Bool {
        let pixel = max(abs(b[1]), abs(b[5]), 1e-12)
        let tolerances = [1e-3, 1e-6, 1e-6, 1e-3, 1e-6, 1e-6].map { $0 * pixel }
        return zip(zip(a, b), tolerances).allSatisfy { abs($0.0 - $0.1) <= $1 }
    }

    static func format(_ transform: [Double]) -> String {
        "[" + transform.map { String($0) }.joined(separator: ", ") + "]"
    }
}
