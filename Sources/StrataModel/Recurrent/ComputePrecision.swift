import StrataKernels

/// Operand precision of a model's convolutions. Master weights, gradients, optimizer state, gate math and every
/// accumulation stay float32 whatever is chosen; only the GEMM operands are rounded (to nearest even).
///
/// ```swift
/// let model = try RecurrentModel(config: config, seed: 7)
/// model.precision = .bf16      // ~3 significant digits per operand, fp32 sums
/// ```
public enum ComputePrecision: String, Sendable, Codable, CaseIterable {
    /// float32 operands.
    case fp32
    /// bfloat16 operands: the float32 range, 8 significant bits.
    case bf16
    /// float16 operands: 11 significant bits but a maximum of 65504; train with ``DynamicLossScaler``.
    case fp16

    var kernelType: strata_dtype {
        switch self {
        case .fp32: return STRATA_F32
        case .bf16: return STRATA_BF16
        case .fp16: return STRATA_F16
        }
    }
}
