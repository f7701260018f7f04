import Foundation
import StrataCore
import StrataIO

/// One of the PyTorch reference fixtures in `Fixtures/` (made by scripts/reference/convlstm_reference.py), with
/// its `config` metadata decoded.
struct Fixture {
    /// The `config` metadata entry: sizes, cell kind and the seed the script used.
    struct Config: Decodable {
        var cell: String
        var batch: Int, time: Int
        var inputChannels: Int
        var hiddenChannels: [Int]
        var height: Int, width: Int
        var kernelSize: Int
        var peepholes: Bool?
        var gateOrder: String?
        var seed: Int

        enum CodingKeys: String, CodingKey {
            case cell, batch, time, height, width, seed, peepholes
            case inputChannels = "input_channels", hiddenChannels = "hidden_channels"
            case kernelSize = "kernel_size", gateOrder = "gate_order"
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            cell = try c.decode(String.self, forKey: .cell)
            batch = try c.decode(Int.self, forKey: .batch)
            time = try c.decode(Int.self, forKey: .time)
            inputChannels = try c.decode(Int.self, forKey: .inputChannels)
            // One layer writes an integer, a stack a list.
            if let list = try? c.decode([Int].self, forKey: .hiddenChannels) {
                hiddenChannels = list
            } else {
                hiddenChannels = [try c.decode(Int.self, forKey: .hiddenChannels)]
            }
            height = try c.decode(Int.self, forKey: .height)
            width = try c.decode(Int.self, forKey: .width)
            kernelSize = try c.decode(Int.self, forKey: .kernelSize)
            peepholes = try c.decodeIfPresent(Bool.self, forKey: .peepholes)
            gateOrder = try c.decodeIfPresent(String.self, forKey: .gateOrder)
            seed = try c.decode(Int.self, forKey: .seed)
        }

        /// The shape of layer `index` (its input channels are the previous layer's hidden channels).
        func layerShape(_ index: Int = 0) -> LayerShape {
            LayerShape(batch: batch, time: time,
                       inputChannels: index == 0 ? inputChannels : hiddenChannels[index - 1],
                       hiddenChannels: hiddenChannels[index], height: height, width: width, kernelSize: kernelSize)
        }
    }

    static let names = ["convlstm_k3", "convlstm_peephole_k5", "convlstm_k1", "convlstm_stack_head",
                        "convgru_k3", "convrnn_k3"]

    let name: String
    let file: SafeTensorsFile
    let config: Config

    init(_ name: String) throws {
        guard let url = Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures")
        else { throw StrataError.fileNotFound(path: "Fixtures/\(name).safetensors") }
        self.name = name
        file = try SafeTensorsFile(path: url.path)
        config = try file.decodeMetadata("config", as: Config.self)
    }

    /// Values of tensor `name` as float64 (F32 inputs widen exactly; F64 references are as computed).
    func values(_ name: String) throws -> [Double] { try file.doubles(name) }
}
