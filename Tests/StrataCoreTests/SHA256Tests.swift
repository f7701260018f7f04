import Foundation
import XCTest
@testable import StrataCore
import StrataTestSupport

/// SHA-256 against the FIPS 180-4 example vectors (NIST CSRC "Examples with intermediate values") and against
/// `sha256sum` on a file, so the digest written into checkpoints matches what any other tool computes.
final class SHA256Tests: XCTestCase {
    func testEmptyMessage() {
        XCTAssertEqual(SHA256.hash([UInt8]()).hexString,
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testFIPSOneBlockABC() {
        XCTAssertEqual(SHA256.hash(Array("abc".utf8)).hexString,
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testFIPSTwoBlock448BitMessage() {
        // 56 bytes: the padding's length field no longer fits in the first block, so a second block is needed.
        let message = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        XCTAssertEqual(message.utf8.count * 8, 448)
        XCTAssertEqual(SHA256.hash(Array(message.utf8)).hexString,
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testFIPSOneMillionA() {
        // Fed in uneven chunks so partial-block buffering is exercised as well as the whole-block path.
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 999)
        var fed = 0
        while fed < 1_000_000 {
            let n = min(chunk.count, 1_000_000 - fed)
            hasher.update(Array(chunk[0..<n]))
            fed += n
        }
        XCTAssertEqual(hasher.finalize().hexString,
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testChunkingDoesNotChangeDigest() {
        var rng = SeededGenerator(seed: 11)
        let message = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let whole = SHA256.hash(message)
        for split in [0, 1, 55, 56, 63, 64, 65, 128, 999, 1000] {
            var hasher = SHA256()
            hasher.update(Array(message[0..<split]))
            hasher.update(Array(message[split...]))
            XCTAssertEqual(hasher.finalize(), whole, "split at \(split)")
        }
    }

    func testMatchesSha256sumOnAFile() throws {
        var rng = SeededGenerator(seed: 5)
        let bytes = (0..<70_001).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let file = try TestFolder(for: self, prefix: "strata-sha256").path("random.bin")
        try Data(bytes).write(to: URL(fileURLWithPath: file))

        let output = try ExternalTool.output("sha256sum", [file])
        let expected = output.split(separator: " ").first.map(String.init)
        XCTAssertEqual(SHA256.hash(bytes).hexString, expected)
    }
}
