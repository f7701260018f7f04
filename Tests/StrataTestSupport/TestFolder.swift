import Foundation
import XCTest

/// A fresh folder under the system's temporary directory for one test's files.
///
/// Tests write real files (GeoTIFF, HDF5, NIfTI, safetensors) and check them with real readers, so each test gets a
/// folder of its own, named after what it holds so a leftover is recognisable:
///
/// ```swift
/// let folder = try TestFolder(for: self, prefix: "strata-predict")   // removed when the test ends
/// let output = folder.path("prediction.tif")
/// ```
///
/// Fixtures that outlive one test method use ``init(prefix:)`` and call ``remove()`` themselves.
public struct TestFolder: Sendable {
    /// The folder itself.
    public let url: URL

    /// Creates `<tmp>/<prefix>-<UUID>`.
    public init(prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Creates the folder and removes it with everything in it when `test` ends.
    public init(for test: XCTestCase, prefix: String) throws {
        try self.init(prefix: prefix)
        let url = self.url
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    }

    /// The folder's path.
    public var path: String { url.path }

    /// The path of `name` inside the folder (nothing is created).
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Names in the folder, sorted, hidden temporaries included (atomic writers' leftovers show up here).
    public func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    }

    /// Deletes the folder and everything in it; a folder already gone is not an error.
    public func remove() { try? FileManager.default.removeItem(at: url) }
}
