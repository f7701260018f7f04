import CGDAL
import Foundation
import StrataCore

/// Process-wide GDAL state: drivers registered once, GDAL's own messages captured instead of printed.
///
/// GDAL prints warnings and errors to stderr by default; Strata's CLI must print only its own one-line errors, so a
/// handler keeps the last *failure* message of each thread (warnings that follow a failure do not overwrite it) and
/// readers put it into the ``StrataError`` they throw, next to the file name.
enum GDALSession {
    // A Swift global/static `let` is initialised exactly once, thread-safely, on first use.
    private static let started: Bool = {
        GDALAllRegister()
        CPLSetErrorHandler(captureGDALMessage)
        return true
    }()

    /// Registers the drivers and installs the handler (cheap after the first call).
    static func start() { _ = started }

    /// Forgets this thread's last GDAL failure; call before a GDAL call whose failure you want to explain.
    static func clearMessage() {
        start()
        CPLErrorReset()
        Thread.current.threadDictionary.removeObject(forKey: lastFailureKey)
    }

    /// The last failure GDAL reported on this thread since ``clearMessage()``, or `fallback` when there was none.
    static func lastMessage(or fallback: String) -> String {
        if let message = Thread.current.threadDictionary[lastFailureKey] as? String, !message.isEmpty {
            return message
        }
        return fallback
    }

    /// Opens `name` (a path or a GDAL dataset name such as `NETCDF:"f.nc":pr`) read-only as a raster.
    ///
    /// The file behind the name is checked first (``GDALDatasetName/check(_:)``) so that a missing file or a
    /// directory gets its own error instead of GDAL's generic "not recognised".
    static func openRaster(_ name: String) throws -> GDALDatasetH {
        try GDALDatasetName.check(name)
        clearMessage()
        let flags = UInt32(GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR)
        guard let handle = GDALOpenEx(name, flags, nil, nil, nil) else {
            throw StrataError.unreadable(path: name, reason: lastMessage(or: "not a raster format GDAL recognises"))
        }
        return handle
    }
}

private let lastFailureKey = "strata.gdal.lastFailure"

// Called by GDAL on the thread that raised the message. Debug and warning messages are dropped (they are noise for
// a CLI user); failures are kept for the error Strata throws.
private func captureGDALMessage(_ errorClass: CPLErr, _ number: CPLErrorNum, _ message: UnsafePointer<CChar>?) {
    guard errorClass.rawValue >= CE_Failure.rawValue, let message else { return }
    Thread.current.threadDictionary[lastFailureKey] = String(cString: message)
}

/// Small helpers to read GDAL's string lists and metadata into Swift.
enum GDALStrings {
    /// `KEY=VALUE` items of a metadata domain (`nil` for the default domain) as a dictionary.
    static func metadata(_ object: UnsafeMutableRawPointer?, domain: String? = nil) -> [String: String] {
        guard let list = GDALGetMetadata(object, domain) else { return [:] }
        var result: [String: String] = [:]
        var index = 0
        while let item = list[index] {
            let text = String(cString: item)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            index += 1
        }
        return result
    }

    /// Calls `body` with a NULL-terminated C string list built from `items` (GDAL's `char **` options).
    static func withList<R>(_ items: [String], _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) throws -> R)
        rethrows -> R
    {
        let copies = items.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        var list = copies + [nil]
        return try list.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }

    /// As ``withList(_:_:)`` for GDAL functions taking `const char *const *`.
    static func withConstList<R>(_ items: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) throws -> R)
        rethrows -> R
    {
        try withList(items) { list in
            try body(UnsafeRawPointer(list).assumingMemoryBound(to: UnsafePointer<CChar>?.self))
        }
    }
}
