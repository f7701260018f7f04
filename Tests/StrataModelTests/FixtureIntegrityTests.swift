import Foundation
import XCTest
import StrataCore
import StrataIO

/// The fixtures load (their SHA-256 verifies, which also cross-checks Strata's SHA-256 and checksum convention
/// against Python's hashlib), and hold exactly the tensors scripts/reference/README.md documents.
final class FixtureIntegrityTests: XCTestCase {
    // Sizes shared by every fixture: B=2, T=4, Cin=3, H=8, W=7 (non-square so that H/W mix-ups fail).
    let b = 2, t = 4, cin = 3, h = 8, w = 7

    /// name -> (dtype, shape), exactly as documented.
    func documentedTensors(_ fixture: String) -> [String: (SafeTensorsDType, [Int])] {
        func lstm(ch: Int, k: Int, peepholes: Bool) -> [String: (SafeTensorsDType, [Int])] {
            var table: [String: (SafeTensorsDType, [Int])] = [
                "input": (.float32, [b, t, cin, h, w]), "h0": (.float32, [b, ch, h, w]), "c0": (.float32, [b, ch, h, w]),
                "cell.weight": (.float32, [4 * ch, cin + ch, k, k]), "cell.bias": (.float32, [4 * ch]),
                "upstream": (.float32, [b, t, ch, h, w]),
                "hidden": (.float64, [b, t, ch, h, w]), "cell_last": (.float64, [b, ch, h, w]), "loss": (.float64, []),
            ]
            if peepholes {
                for gate in ["w_ci", "w_cf", "w_co"] { table["cell.\(gate)"] = (.float32, [ch, h, w]) }
            }
            for name in table.keys where !["hidden", "cell_last", "loss", "upstream"].contains(name) {
                table["grad.\(name)"] = (.float64, table[name]!.1)
            }
            return table
        }
        switch fixture {
        case "convlstm_k3": return lstm(ch: 5, k: 3, peepholes: false)
        case "convlstm_peephole_k5": return lstm(ch: 5, k: 5, peepholes: true)
        case "convlstm_k1": return lstm(ch: 5, k: 1, peepholes: false)
        case "convlstm_stack_head":
            var table: [String: (SafeTensorsDType, [Int])] = [
                "input": (.float32, [b, t, cin, h, w]), "target": (.float32, [b, 1, h, w]),
                "layers.0.weight": (.float32, [16, cin + 4, 3, 3]), "layers.0.bias": (.float32, [16]),
                "layers.1.weight": (.float32, [24, 4 + 6, 3, 3]), "layers.1.bias": (.float32, [24]),
                "head.weight": (.float32, [1, 6, 1, 1]), "head.bias": (.float32, [1]),
            ]
            for name in table.keys where name != "target" { table["grad.\(name)"] = (.float64, table[name]!.1) }
            table["layers.0.hidden"] = (.float64, [b, t, 4, h, w])
            table["layers.0.cell_last"] = (.float64, [b, 4, h, w])
            table["layers.1.hidden"] = (.float64, [b, t, 6, h, w])
            table["layers.1.cell_last"] = (.float64, [b, 6, h, w])
            table["logits"] = (.float64, [b, 1, h, w])
            table["probability"] = (.float64, [b, 1, h, w])
            table["loss"] = (.float64, [])
            return table
        case "convgru_k3":
            var table: [String: (SafeTensorsDType, [Int])] = [
                "input": (.float32, [b, t, cin, h, w]), "h0": (.float32, [b, 5, h, w]),
                "cell.weight_gates": (.float32, [10, cin + 5, 3, 3]), "cell.bias_gates": (.float32, [10]),
                "cell.weight_candidate": (.float32, [5, cin + 5, 3, 3]), "cell.bias_candidate": (.float32, [5]),
            ]
            for name in table.keys { table["grad.\(name)"] = (.float64, table[name]!.1) }
            table["upstream"] = (.float32, [b, t, 5, h, w])
            table["hidden"] = (.float64, [b, t, 5, h, w])
            table["loss"] = (.float64, [])
            return table
        case "convrnn_k3":
            var table: [String: (SafeTensorsDType, [Int])] = [
                "input": (.float32, [b, t, cin, h, w]), "h0": (.float32, [b, 5, h, w]),
                "cell.weight": (.float32, [5, cin + 5, 3, 3]), "cell.bias": (.float32, [5]),
            ]
            for name in table.keys { table["grad.\(name)"] = (.float64, table[name]!.1) }
            table["upstream"] = (.float32, [b, t, 5, h, w])
            table["hidden"] = (.float64, [b, t, 5, h, w])
            table["loss"] = (.float64, [])
            return table
        default: return [:]
        }
    }

    func testEveryFixtureHoldsExactlyTheDocumentedTensors() throws {
        for name in Fixture.names {
            let fixture = try Fixture(name)
            let documented = documentedTensors(name)
            XCTAssertEqual(fixture.file.names, documented.keys.sorted(), name)
            // All at once, no others allowed: the error would list every difference.
            XCTAssertNoThrow(try fixture.file.expect(documented.map {
                SafeTensorsExpectation(name: $0.key, dtype: $0.value.0, shape: $0.value.1)
            }), name)
        }
    }

    func testFixturesCarryAVerifiedChecksumAndTheirConfiguration() throws {
        var total = 0
        for name in Fixture.names {
            let fixture = try Fixture(name)
            // Present, so SafeTensorsFile verified it against the bytes while loading.
            XCTAssertEqual(fixture.file.metadata["sha256"]?.count, 64, name)
            XCTAssertNotNil(fixture.file.metadata["torch_version"], name)
            XCTAssertEqual([fixture.config.batch, fixture.config.time, fixture.config.inputChannels,
                            fixture.config.height, fixture.config.width], [b, t, cin, h, w], name)
            if fixture.config.cell == "convlstm" { XCTAssertEqual(fixture.config.gateOrder, "i,f,g,o", name) }
            let path = fixture.file.path
            total += (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        }
        XCTAssertLessThan(total, 2_000_000, "fixtures must stay small")
        XCTAssertEqual(try Fixture("convlstm_peephole_k5").config.peepholes, true)
        XCTAssertEqual(try Fixture("convlstm_k1").config.kernelSize, 1)
        XCTAssertEqual(try Fixture("convlstm_stack_head").config.hiddenChannels, [4, 6])
    }

    /// Inputs are stored as F32 and were rounded to float32 before the float64 reference ran, so reading them
    /// as float32 tensors loses nothing: the engine sees exactly the values the reference used.
    func testFloat32InputsAreExactInBothReadings() throws {
        let fixture = try Fixture("convlstm_k3")
        let weight = try fixture.file.tensor("cell.weight")
        XCTAssertEqual(weight.dtype, .float32)
        XCTAssertEqual(weight.floats.map(Double.init), try fixture.values("cell.weight"))
        // And the forget block of the bias sits near the documented init of 1 (init 1 plus N(0, 0.1) noise).
        let bias = try fixture.values("cell.bias")
        let forget = bias[5..<10], others = bias[0..<5] + bias[10..<20]
        XCTAssertGreaterThan(forget.reduce(0, +) / 5, 0.7)
        XCTAssertLessThan(abs(others.reduce(0, +) / 15), 0.3)
    }
}
