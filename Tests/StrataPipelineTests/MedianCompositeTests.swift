import XCTest
@testable import StrataPipeline
import StrataCore

final class MedianCompositeTests: XCTestCase {
    func testKnownAnswerWithMaskedSteps() {
        // T=4, C=2 (red, nir), 1×2 pixels. Pixel 0: steps 0..3 valid except step 2; pixel 1: nothing valid.
        let t = 4, c = 2
        var values = [Float](repeating: 0, count: t * c * 2)
        let red: [Float] = [0.1, 0.3, 9.0, 0.2], nir: [Float] = [0.5, 0.3, 9.0, 0.6]
        for s in 0..<t {
            values[(s * c + 0) * 2] = red[s]
            values[(s * c + 1) * 2] = nir[s]
        }
        var mask = Tensor(zeros: [t, 1, 2], dtype: .uint8)
        mask.withMutableRawBytes { m in for s in [0, 1, 3] { m[s * 2] = 1 } }
        let out = MedianComposite(redBand: 0, nirBand: 1, nodata: -1)
            .apply(values: Tensor(shape: [t, c, 1, 2], values: values), mask: mask).floats
        XCTAssertEqual(out[0], 0.2, accuracy: 1e-7)           // median red of 0.1, 0.3, 0.2
        XCTAssertEqual(out[2], 0.5, accuracy: 1e-7)           // median nir of 0.5, 0.3, 0.6
        XCTAssertEqual(out[4], 3)                              // valid count
        XCTAssertEqual(out[6], (0.5 - 0.1) / 0.6, accuracy: 1e-6)  // best NDVI, step 0
        XCTAssertEqual([out[1], out[3], out[5], out[7]], [-1, -1, 0, -1])  // no valid step: nodata, count 0
    }

    func testEvenCountMedian() {
        var v: [Float] = [4, 1, 3, 2]
        XCTAssertEqual(MedianComposite.median(&v), 2.5)
        var empty: [Float] = []
        XCTAssertNil(MedianComposite.median(&empty))
    }
}
