/// Per-field means of predicted and true values, accumulated window by window.
///
/// A field's value is the **mean of its pixels** (yield in t/ha is an intensive quantity, so the mean of the pixels
/// is the field's yield). Pixels with field id 0 (no field) or an invalid id are skipped; only pixels that the
/// caller passes (valid prediction, and valid truth when the truth is a raster) count, so both means cover the same
/// pixels.
///
/// ```swift
/// var fields = FieldMeans()
/// fields.add(field: 7, predicted: 3.0, truth: 2.0)
/// fields.add(field: 7, predicted: 5.0, truth: 4.0)
/// fields.rows[0]   // field 7: prediction 4.0, truth 3.0, pixels 2
/// ```
public struct FieldMeans: Equatable, Sendable {
    /// One field's sums.
    struct Sums: Equatable, Sendable {
        var predicted = 0.0
        var truth = 0.0
        var pixels = 0
    }

    private(set) var sums: [Int: Sums] = [:]

    public init() {}

    /// Adds one pixel of `field` (ids ≤ 0 are not fields and are ignored); `truth` is 0 when the truth is per field.
    @inline(__always)
    public mutating func add(field: Int, predicted: Float, truth: Float = 0) {
        guard field > 0 else { return }
        sums[field, default: Sums()].predicted += Double(predicted)
        sums[field, default: Sums()].truth += Double(truth)
        sums[field, default: Sums()].pixels += 1
    }

    /// Adds another window's sums.
    public mutating func merge(_ other: FieldMeans) {
        for (field, s) in other.sums {
            sums[field, default: Sums()].predicted += s.predicted
            sums[field, default: Sums()].truth += s.truth
            sums[field, default: Sums()].pixels += s.pixels
        }
    }

    /// Fields in increasing id order with their mean predicted and mean true values.
    public var rows: [FieldRow] {
        sums.keys.sorted().map { id in
            let s = sums[id]!
            return FieldRow(fieldID: id, predicted: s.predicted / Double(s.pixels), truth: s.truth / Double(s.pixels),
                            pixels: s.pixels)
        }
    }
}

/// One field of a yield evaluation: its id, mean predicted and true values, and how many pixels gave them.
public struct FieldRow: Equatable, Sendable {
    public let fieldID: Int
    /// Mean predicted value over the field's valid pixels; `nil` when it has none (a CSV field absent from the map).
    public let predicted: Double?
    /// Mean true value over the same pixels, or the CSV value.
    public let truth: Double?
    /// Pixels that entered the means.
    public let pixels: Int

    public init(fieldID: Int, predicted: Double?, truth: Double?, pixels: Int) {
        self.fieldID = fieldID
        self.predicted = predicted
        self.truth = truth
        self.pixels = pixels
    }
}
