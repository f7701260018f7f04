import StrataKernels

/// A stride-1, 'same'-padded 2-D convolution on NCHW ``Tensor``s, a thin shape-checked wrapper over
/// `strata_conv2d_*` (see `strata_conv.h`).
///
/// Shapes: x `[N, Cin, H, W]`, weights `[Cout, Cin, K, K]`, bias `[Cout]`, y `[N, Cout, H, W]`; all float32.
/// `compute` picks the GEMM operand type (`.float32`, `.bfloat16` or `.float16`, accumulation is always fp32).
///
/// ```swift
/// let conv = try Conv2D(inputChannels: 65, outputChannels: 256, kernelSize: 5, compute: .bfloat16)
/// let workspace = Conv2D.Workspace()
/// let z = try conv.forward(x, weights: w, bias: b, workspace: workspace)   // [N, 256, H, W]
/// ```
public struct Conv2D: Sendable {
    public let inputChannels: Int
    public let outputChannels: Int
    /// Odd kernel size K (1 is a per-pixel matrix multiply with no im2col copy).
    public let kernelSize: Int
    public let compute: DType

    /// Scratch memory reused across calls; it grows to the largest size asked for and never shrinks.
    public final class Workspace {
        public private(set) var byteCount = 0
        private var bytes: UnsafeMutableRawPointer?

        public init() {}
        deinit { bytes?.deallocate() }

        func pointer(atLeast count: Int) -> UnsafeMutableRawPointer? {
            if count > byteCount {
                bytes?.deallocate()
                bytes = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64)
                byteCount = count
            }
            return bytes
        }
    }

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, compute: DType = .float32) throws {
        guard inputChannels > 0, outputChannels > 0 else {
            throw StrataError.invalidArgument(name: "channels", reason: "need at least one input and one output "
                + "channel, got \(inputChannels) -> \(outputChannels)")
        }
        guard kernelSize > 0, kernelSize % 2 == 1 else {
            throw StrataError.invalidArgument(name: "kernel size", reason: "must be odd and positive for 'same' "
                + "padding, got \(kernelSize)")
        }
        guard [.float32, .bfloat16, .float16].contains(compute) else {
            throw StrataError.invalidArgument(name: "compute precision", reason: "expected float32, bfloat16 or "
                + "float16, got \(compute.rawValue)")
        }
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.compute = compute
    }

    /// The weight tensor shape `[Cout, Cin, K, K]`.
    public var weightShape: [Int] { [outputChannels, inputChannels, kernelSize, kernelSize] }

    private func descriptor(batch: Int, height: Int, width: Int) -> strata_conv2d_desc {
        let dtype: strata_dtype = compute == .bfloat16 ? STRATA_BF16 : compute == .float16 ? STRATA_F16 : STRATA_F32
        return strata_conv2d_desc(N: Int32(batch), Cin: Int32(inputChannels), Cout: Int32(outputChannels),
                                  H: Int32(height), W: Int32(width), K: Int32(kernelSize), compute: dtype)
    }

    /// Workspace bytes one call on `[batch, Cin, height, width]` needs.
    public func workspaceByteCount(batch: Int, height: Int, width: Int) -> Int {
        var d = descriptor(batch: batch, height: height, width: width)
        return strata_conv2d_workspace_size(&d)
    }

    private func check(_ t: Tensor, _ name: String, _ expected: [Int]) throws {
        guard t.dtype == .float32 else {
            throw StrataError.invalidArgument(name: name, reason: "must be float32, got \(t.dtype.rawValue)")
        }
        guard t.shape == expected else {
            throw StrataError.invalidArgument(name: name, reason: "shape \(t.shape), expected \(expected)")
        }
    }

    /// Checks x is `[N, Cin, H, W]` and returns a validated descriptor for it.
    private func descriptor(for x: Tensor, _ name: String, channels: Int) throws -> strata_conv2d_desc {
        guard x.shape.count == 4, x.shape[1] == channels else {
            throw StrataError.invalidArgument(name: name, reason: "shape \(x.shape), expected [N, \(channels), H, W]")
        }
        var d = descriptor(batch: x.shape[0], height: x.shape[2], width: x.shape[3])
        guard strata_conv2d_check(&d) == 0 else {
            throw StrataError.invalidArgument(name: name, reason: "shape \(x.shape) is empty or too large for the GEMM")
        }
        return d
    }

    /// y `[N, Cout, H, W]` = conv(x, weights) + bias.
    public func forward(_ x: Tensor, weights: Tensor, bias: Tensor?, workspace: Workspace) throws -> Tensor {
        var d = try descriptor(for: x, "input", channels: inputChannels)
        try check(x, "input", x.shape)
        try check(weights, "weights", weightShape)
        if let bias { try check(bias, "bias", [outputChannels]) }
        var y = Tensor(zeros: [x.shape[0], outputChannels, x.shape[2], x.shape[3]])
        let space = workspace.pointer(atLeast: strata_conv2d_workspace_size(&d))
        let status = x.withFloats { xp in weights.withFloats { wp in y.withMutableFloats { yp in
            if let bias {
                return bias.withFloats { strata_conv2d_forward(&d, xp.baseAddress, wp.baseAddress, $0.baseAddress,
                                                               yp.baseAddress, 0, space) }
            }
            return strata_conv2d_forward(&d, xp.baseAddress, wp.baseAddress, nil, yp.baseAddress, 0, space)
        } } }
        guard status == 0 else { throw StrataError.internalError("strata_conv2d_forward rejected checked shapes") }
        return y
    }

    /// dx `[N, Cin, H, W]` from dy `[N, Cout, H, W]`.
    public func inputGradient(_ dy: Tensor, weights: Tensor, workspace: Workspace) throws -> Tensor {
        var d = try descriptor(for: dy, "output gradient", channels: outputChannels)
        try check(dy, "output gradient", dy.shape)
        try check(weights, "weights", weightShape)
        var dx = Tensor(zeros: [dy.shape[0], inputChannels, dy.shape[2], dy.shape[3]])
        let space = workspace.pointer(atLeast: strata_conv2d_workspace_size(&d))
        let status = dy.withFloats { g in weights.withFloats { wp in dx.withMutableFloats {
            strata_conv2d_backward_data(&d, g.baseAddress, wp.baseAddress, $0.baseAddress, 0, space)
        } } }
        guard status == 0 else { throw StrataError.internalError("strata_conv2d_backward_data rejected checked shapes") }
        return dx
    }

    /// Adds ∂L/∂weights to `weightGradient` `[Cout, Cin, K, K]` and ∂L/∂bias to `biasGradient` `[Cout]` (if given),
    /// so a time loop can sum its steps into the same tensors.
    public func accumulateWeightGradient(input x: Tensor, outputGradient dy: Tensor, into weightGradient: inout Tensor,
                                         biasGradient: inout Tensor?, workspace: Workspace) throws {
        var d = try descriptor(for: x, "input", channels: inputChannels)
        try check(x, "input", x.shape)
        try check(dy, "output gradient", [x.shape[0], outputChannels, x.shape[2], x.shape[3]])
        try check(weightGradient, "weight gradient", weightShape)
        if let biasGradient { try check(biasGradient, "bias gradient", [outputChannels]) }
        let space = workspace.pointer(atLeast: strata_conv2d_workspace_size(&d))
        let status = x.withFloats { xp in dy.withFloats { g in weightGradient.withMutableFloats { dw in
            if biasGradient != nil {
                return biasGradient!.withMutableFloats {
                    strata_conv2d_backward_weights(&d, xp.baseAddress, g.baseAddress, dw.baseAddress, $0.baseAddress,
                                                   space)
                }
            }
            return strata_conv2d_backward_weights(&d, xp.baseAddress, g.baseAddress, dw.baseAddress, nil, space)
        } } }
        guard status == 0 else {
            throw StrataError.internalError("strata_conv2d_backward_weights rejected checked shapes")
        }
    }
}
