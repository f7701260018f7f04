import StrataCore

/// The pixels of one window of a ``RasterStack``: values in physical units and a validity mask.
///
/// - `values`: float32 `[T, C, h, w]` — T time steps, C bands per step, h rows, w columns of ``window``. Valid
///   pixels hold `stored * scale + offset`; invalid pixels (and the part of the window outside the raster) hold the
///   stack's ``RasterStack/fillValue`` (the declared nodata value, or NaN when there is none).
/// - `mask`: uint8 `[T, h, w]`, 1 where every band of that step is valid, else 0.
///
/// ```swift
/// let tile = try stack.read(window: Window(x: 0, y: 0, width: 64, height: 64))
/// tile.values.shape  // [T, C, 64, 64]
/// tile.mask.shape    // [T, 64, 64]
/// ```
public struct StackWindow: Sendable {
    /// The window that was read, in pixels of the stack's grid (may reach outside it).
    public let window: Window
    /// float32 `[T, C, h, w]`, physical units.
    public var values: Tensor
    /// uint8 `[T, h, w]`: 1 valid, 0 invalid.
    public var mask: Tensor

    public init(window: Window, values: Tensor, mask: Tensor) {
        self.window = window
        self.values = values
        self.mask = mask
    }
}
