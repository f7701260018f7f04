import StrataCore

/// Folds s × s pixel blocks into channels and back: ``ModelConfig/spaceToDepth`` (Shi et al. 2015's patch
/// reshaping; PyTorch's `pixel_unshuffle` / `pixel_shuffle` channel order).
///
/// Legend: N leading items (B·T or B), C channels, H × W pixels, s the block side, h = ⌈H/s⌉, w = ⌈W/s⌉.
///
/// ``fold(_:)`` maps `[..., C, H, W]` to `[..., C·s², h, w]`: channel `c·s² + dy·s + dx` of folded pixel (y, x) is
/// channel c of pixel `(y·s + dy, x·s + dx)`, 0 where that lies past the image (H or W not a multiple of s).
/// ``unfold(_:)`` is its inverse and drops those padding pixels. Both only move values, so each is the other's
/// adjoint: the gradient of a fold is the unfold of the folded gradient, and the other way round.
///
/// ```swift
/// let fold = SpaceToDepth(factor: 2, height: 5, width: 4)
/// let folded = fold.fold(x)          // [B, T, C, 5, 4] -> [B, T, 4·C, 3, 2]
/// let back = fold.unfold(folded)     // [B, T, C, 5, 4], equal to x
/// ```
struct SpaceToDepth: Equatable {
    let factor: Int
    /// Pixel size before folding.
    let height: Int, width: Int

    /// Folded pixel size: ⌈H/s⌉ × ⌈W/s⌉.
    var foldedHeight: Int { (height + factor - 1) / factor }
    var foldedWidth: Int { (width + factor - 1) / factor }

    /// `[..., C, H, W]` → `[..., C·s², h, w]`, padding past the edge with 0.
    func fold(_ x: Tensor) -> Tensor {
        let s = x.shape, rank = s.count
        precondition(rank >= 3 && s[rank - 2] == height && s[rank - 1] == width, "fold of \(s) at \(height)x\(width)")
        let items = s[..<(rank - 2)].reduce(1, *)
        var out = Tensor(zeros: Array(s[..<(rank - 3)]) + [s[rank - 3] * factor * factor, foldedHeight, foldedWidth])
        x.withFloats { src in
            out.withMutableFloats { dst in
                move(items: items, folded: dst.baseAddress!, plain: UnsafeMutablePointer(mutating: src.baseAddress!),
                     toFolded: true)
            }
        }
        return out
    }

    /// `[..., C·s², h, w]` → `[..., C, H, W]`, dropping the padding pixels.
    func unfold(_ y: Tensor) -> Tensor {
        let s = y.shape, rank = s.count, blocks = factor * factor
        precondition(rank >= 3 && s[rank - 3] % blocks == 0 && s[rank - 2] == foldedHeight
                     && s[rank - 1] == foldedWidth, "unfold of \(s) to \(height)x\(width)")
        let channels = s[rank - 3] / blocks
        let items = s[..<(rank - 3)].reduce(1, *) * channels
        var out = Tensor(zeros: Array(s[..<(rank - 3)]) + [channels, height, width])
        y.withFloats { src in
            out.withMutableFloats { dst in
                move(items: items, folded: UnsafeMutablePointer(mutating: src.baseAddress!), plain: dst.baseAddress!,
                     toFolded: false)
            }
        }
        return out
    }

    /// Input `[B, T, C, H, W]` folded with the values of masked pixels (mask `[B, T, H, W]` 0) set to 0 first: a
    /// block with some valid pixels is updated, and its masked pixels must not bring their values in.
    func fold(_ x: Tensor, masking mask: Tensor) -> Tensor {
        var clean = x
        Self.zeroMasked(&clean, mask: mask)
        return fold(clean)
    }

    /// Sets `x[b, t, :, y, x]` `[B, T, C, H, W]` to 0 where `mask[b, t, y, x]` is 0 (also the gradient of
    /// ``fold(_:masking:)`` with respect to those values).
    static func zeroMasked(_ x: inout Tensor, mask: Tensor) {
        let s = x.shape, items = s[0] * s[1], channels = s[2], area = s[3] * s[4]
        x.withMutableFloats { v in
            mask.withRawBytes { m in
                for item in 0..<items {
                    for q in 0..<area where m[item * area + q] == 0 {
                        for c in 0..<channels { v[(item * channels + c) * area + q] = 0 }
                    }
                }
            }
        }
    }

    /// A `[B, T, H, W]` validity mask at the folded size: a folded pixel is valid where any of its pixels is (its
    /// other pixels hold 0, the normalised mean, as nodata does everywhere).
    func foldMask(_ mask: Tensor) -> Tensor {
        let s = mask.shape, items = s[0] * s[1], (h, w) = (foldedHeight, foldedWidth)
        var out = Tensor(zeros: [s[0], s[1], h, w], dtype: .uint8)
        mask.withRawBytes { src in
            out.withMutableRawBytes { dst in
                for item in 0..<items {
                    for y in 0..<height {
                        for x in 0..<width where src[(item * height + y) * width + x] != 0 {
                            dst[(item * h + y / factor) * w + x / factor] = 1
                        }
                    }
                }
            }
        }
        return out
    }

    /// Copies between a plain `[items, H, W]` plane (one channel of one item) and its s² folded planes
    /// `[items, s², h, w]`, in the direction asked; folded pixels past the image are left as they are (0).
    private func move(items: Int, folded: UnsafeMutablePointer<Float>, plain: UnsafeMutablePointer<Float>,
                      toFolded: Bool) {
        let (h, w) = (foldedHeight, foldedWidth), plane = h * w
        for item in 0..<items {
            let p = plain + item * height * width, f = folded + item * factor * factor * plane
            for y in 0..<height {
                let (fy, dy) = y.quotientAndRemainder(dividingBy: factor)
                for x in 0..<width {
                    let (fx, dx) = x.quotientAndRemainder(dividingBy: factor)
                    let at = (dy * factor + dx) * plane + fy * w + fx
                    if toFolded { f[at] = p[y * width + x] } else { p[y * width + x] = f[at] }
                }
            }
        }
    }
}
