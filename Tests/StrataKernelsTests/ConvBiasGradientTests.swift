// The convolution's bias gradient (Σ of dy over images and pixels per output channel, in double, channel_sums.c):
// against a plain double sum, and bit-identical on every ISA, for fp32 dy and for bf16 dy.
import StrataCore
import StrataKernels
import XCTest

final class ConvBiasGradientTests: XCTestCase {
    /// 7 output channels (one group of 4 summed side by side, then 3 alone), 9 x 7 = 63 pixels (7 past the last
    /// group of 8), 3 images; K = 1 and 3 with Cin 5 (both off Winograd, whose bias sums are its own).
    func testBiasGradientMatchesDoubleSumOnEveryISA() throws {
        let (n, cin, cout, h, w) = (3, 5, 7, 9, 7)
        let hw = h * w
        var rng = KernelTestRandom(seed: 77)
        let x = rng.floats(n * cin * hw)
        // Magnitudes from 2^-30 to 2^30, so that double sums round and their order shows in the result.
        let scaled = rng.floats(n * cout * hw).map { $0 * Float(sign: .plus, exponent: Int(rng.next() % 61) - 30,
                                                                   significand: 1) }
        var dy16 = [UInt16](repeating: 0, count: n * cout * hw)
        strata_f32_to_bf16(scaled, &dy16, dy16.count)
        var dy = [Float](repeating: 0, count: dy16.count)
        strata_bf16_to_f32(dy16, &dy, dy.count)
        var expected = [Float](repeating: 0.25, count: cout), magnitude = [Float](repeating: 0, count: cout)
        for co in 0..<cout {
            var sum = 0.0, absolute = 0.0
            for image in 0..<n {
                for q in 0..<hw {
                    sum += Double(dy[(image * cout + co) * hw + q])
                    absolute += Double(abs(dy[(image * cout + co) * hw + q]))
                }
            }
            expected[co] += Float(sum)
            magnitude[co] = Float(absolute)
        }
        for k in [1, 3] {
            var d = strata_conv2d_desc(N: Int32(n), Cin: Int32(cin), Cout: Int32(cout), H: Int32(h), W: Int32(w),
                                       K: Int32(k), compute: STRATA_BF16)
            let ws = UnsafeMutableRawPointer.allocate(byteCount: max(strata_conv2d_workspace_size(&d), 1),
                                                      alignment: 64)
            defer { ws.deallocate() }
            var first: [UInt32]?
            for isa in KernelISA.supported {
                let biases = try withKernelISA(isa) { () -> [Float] in
                    var dw = [Float](repeating: 0, count: cout * cin * k * k)
                    var fromF32 = [Float](repeating: 0.25, count: cout), fromBF16 = fromF32
                    XCTAssertEqual(strata_conv2d_backward_weights(&d, x, dy, &dw, &fromF32, ws), 0)
                    XCTAssertEqual(strata_conv2d_backward_weights_bf16(&d, x, dy16, &dw, &fromBF16, ws), 0)
                    return fromF32 + fromBF16
                }
                for co in 0..<cout {
                    XCTAssertEqual(biases[co], expected[co], accuracy: 1e-6 * magnitude[co] + 1e-5,
                                   "\(isa) K \(k) channel \(co)")
                }
                let bits = biases.map(\.bitPattern)
                XCTAssertEqual(Array(bits[0..<cout]), Array(bits[cout...]), "\(isa) K \(k): fp32 dy against bf16 dy")
                if let first { XCTAssertEqual(bits, first, "\(isa) K \(k) against \(KernelISA.supported[0])") }
                first = first ?? bits
            }
        }
    }
}
