import StrataCore

/// The part of a model after the recurrent stack: features in, logits out, and the way back.
///
/// Features are `[N, C, HW]` with N = T·B (time-major sequence) or B (last state). `validity` `[N, HW]` marks the
/// pixels a pooling head averages over (nil: all).
protocol ModelHead: AnyObject {
    /// Values per image in the output: O·HW for a 1×1 convolution, O for pooling + dense.
    func outputCount(pixels: Int) -> Int
    /// Logits `[N, outputCount]`; the pointer stays valid until the next forward.
    func forward(features: UnsafePointer<Float>, images: Int, height: Int, width: Int,
                 validity: UnsafePointer<UInt8>?) -> UnsafePointer<Float>
    /// ∂L/∂features `[N, C, HW]` from ∂L/∂logits; adds the head's parameter gradients.
    func backward(outputGradient: UnsafePointer<Float>) -> UnsafePointer<Float>
}

/// A 1×1 convolution per pixel (and per step for a sequence): `head.weight` `[O, C, 1, 1]`, `head.bias` `[O]`.
/// Runs in fp32 whatever the model's precision: it is a small share of the work and sits right before the loss.
final class ConvHead: ModelHead {
    let weight: Parameter, bias: Parameter
    private let output = FloatBuffer(), featureGradient = FloatBuffer(), workspace = FloatBuffer()
    private var conv: ConvOperator?
    /// The same convolution over one step's images (B of them), for ``addFeatureGradient(outputGradient:step:into:)``.
    private var stepConv: ConvOperator?
    private var features: UnsafePointer<Float>?

    init(weight: Parameter, bias: Parameter) {
        self.weight = weight
        self.bias = bias
    }

    private var outputs: Int { weight.shape[0] }
    private var channels: Int { weight.shape[1] }

    func outputCount(pixels: Int) -> Int { outputs * pixels }

    func forward(features: UnsafePointer<Float>, images: Int, height: Int, width: Int,
                 validity: UnsafePointer<UInt8>?) -> UnsafePointer<Float> {
        let op = ConvOperator(images: images, inputChannels: channels, outputChannels: outputs, height: height,
                              width: width, kernel: 1, precision: .fp32)
        conv = op
        self.features = features
        let y = output.ensure(images * outputs * height * width)
        op.forward(features, weight.value.floatPointer, bias: bias.value.floatPointer, y, accumulate: false,
                   workspace: workspace.raw(atLeast: op.workspaceBytes))
        return UnsafePointer(y)
    }

    func backward(outputGradient: UnsafePointer<Float>) -> UnsafePointer<Float> {
        let op = conv!
        let d = op.desc, ws = workspace.raw(atLeast: op.workspaceBytes)
        let dx = featureGradient.ensure(Int(d.N) * channels * Int(d.H) * Int(d.W))
        op.backwardData(outputGradient, weight.value.floatPointer, dx, accumulate: false, workspace: ws)
        addParameterGradients(outputGradient)
        return UnsafePointer(dx)
    }

    /// The weight and bias gradients alone, for a sequence whose ∂L/∂features the recurrent layer below takes one
    /// step at a time with ``addFeatureGradient(outputGradient:step:into:)`` (`imagesPerStep` = B images a step),
    /// so the `[T, B, C, HW]` feature gradient is never materialised.
    func backwardWeights(outputGradient: UnsafePointer<Float>, imagesPerStep: Int) {
        let d = conv!.desc
        stepConv = ConvOperator(images: imagesPerStep, inputChannels: channels, outputChannels: outputs,
                                height: Int(d.H), width: Int(d.W), kernel: 1, precision: .fp32)
        addParameterGradients(outputGradient)
    }

    /// dh `[B, C, HW]` += ∂L/∂features of step `step`, from the logits gradient `[T, B, O, HW]` of all steps: the
    /// GEMM adds straight into dh (beta 1), with no pass over a separate buffer.
    func addFeatureGradient(outputGradient: UnsafePointer<Float>, step: Int, into dh: UnsafeMutablePointer<Float>) {
        let op = stepConv!
        let d = op.desc, perStep = Int(d.N) * outputs * Int(d.H) * Int(d.W)
        op.backwardData(outputGradient + step * perStep, weight.value.floatPointer, dh, accumulate: true,
                        workspace: workspace.raw(atLeast: op.workspaceBytes))
    }

    private func addParameterGradients(_ outputGradient: UnsafePointer<Float>) {
        let op = conv!
        let ws = workspace.raw(atLeast: op.workspaceBytes)
        weight.gradient.withMutableFloats { dw in
            bias.gradient.withMutableFloats { db in
                op.backwardWeights(features!, outputGradient, dw.baseAddress!, dbias: db.baseAddress!, workspace: ws)
            }
        }
    }
}
