import CHDF5
import Foundation
import StrataCore

/// Reading and writing the attributes of the volume convention (docs/formats-volumes.md) on an HDF5 object.
///
/// Numbers are read as float64 whatever their stored type; strings may be fixed-length or variable-length (h5py
/// writes the latter) and are written variable-length UTF-8. `path` is only used in error messages.
struct HDF5Attributes {
    let object: hid_t
    let path: String

    /// Whether the object has the attribute `name`.
    func has(_ name: String) -> Bool { H5Aexists(object, name) > 0 }

    /// The values of a numeric attribute, or `nil` when it is absent.
    func numbers(_ name: String) throws -> [Double]? {
        guard has(name) else { return nil }
        let attribute = try h5Check(H5Aopen(object, name, strata_h5p_default()), path, "open attribute '\(name)'")
        defer { H5Aclose(attribute) }
        let type = try h5Check(H5Aget_type(attribute), path, "read the type of attribute '\(name)'")
        defer { H5Tclose(type) }
        let typeClass = H5Tget_class(type)
        guard typeClass == H5T_INTEGER || typeClass == H5T_FLOAT else {
            throw StrataError.invalidHeader(path: path, reason: "attribute '\(name)' must be numeric")
        }
        let count = try elementCount(attribute, name)
        var values = [Double](repeating: 0, count: count)
        try h5Check(H5Aread(attribute, strata_h5t_native_double(), &values), path, "read attribute '\(name)'")
        return values
    }

    /// The values of a string attribute (scalar or 1-D), or `nil` when it is absent.
    func strings(_ name: String) throws -> [String]? {
        guard has(name) else { return nil }
        let attribute = try h5Check(H5Aopen(object, name, strata_h5p_default()), path, "open attribute '\(name)'")
        defer { H5Aclose(attribute) }
        let type = try h5Check(H5Aget_type(attribute), path, "read the type of attribute '\(name)'")
        defer { H5Tclose(type) }
        guard H5Tget_class(type) == H5T_STRING else {
            throw StrataError.invalidHeader(path: path, reason: "attribute '\(name)' must be a string")
        }
        let count = try elementCount(attribute, name)
        let memoryType = try h5Check(H5Tcopy(strata_h5t_c_s1()), path, "copy a string type")
        defer { H5Tclose(memoryType) }
        H5Tset_cset(memoryType, H5Tget_cset(type))
        if H5Tis_variable_str(type) > 0 {
            H5Tset_size(memoryType, strata_h5t_variable())
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            try h5Check(H5Aread(attribute, memoryType, &pointers), path, "read attribute '\(name)'")
            defer { for pointer in pointers { H5free_memory(pointer) } }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        // Fixed-length: `size` bytes per string, padded with NULs or spaces.
        let size = H5Tget_size(type)
        H5Tset_size(memoryType, size)
        var bytes = [UInt8](repeating: 0, count: count * size)
        try h5Check(H5Aread(attribute, memoryType, &bytes), path, "read attribute '\(name)'")
        let spacePadded = H5Tget_strpad(type) == H5T_STR_SPACEPAD
        return (0..<count).map { i in
            var field = bytes[i * size..<(i + 1) * size]
            if let end = field.firstIndex(of: 0) { field = field[..<end] }
            var text = String(decoding: field, as: UTF8.self)
            while spacePadded, text.hasSuffix(" ") { text.removeLast() }
            return text
        }
    }

    private func elementCount(_ attribute: hid_t, _ name: String) throws -> Int {
        let space = try h5Check(H5Aget_space(attribute), path, "read the shape of attribute '\(name)'")
        defer { H5Sclose(space) }
        return Int(try h5Check(H5Sget_simple_extent_npoints(space), path, "count attribute '\(name)'"))
    }

    /// Writes a float64 attribute: a scalar when `scalar` is set and there is one value, else 1-D.
    func write(_ name: String, numbers values: [Double], scalar: Bool = false) throws {
        let space = try dataspace(count: values.count, scalar: scalar)
        defer { H5Sclose(space) }
        let double = strata_h5t_native_double()
        let attribute = try h5Check(
            H5Acreate2(object, name, double, space, strata_h5p_default(), strata_h5p_default()), path,
            "create attribute '\(name)'")
        defer { H5Aclose(attribute) }
        try h5Check(H5Awrite(attribute, double, values), path, "write attribute '\(name)'")
    }

    /// Writes a variable-length UTF-8 string attribute: a scalar when `scalar` is set and there is one value.
    func write(_ name: String, strings values: [String], scalar: Bool = false) throws {
        let space = try dataspace(count: values.count, scalar: scalar)
        defer { H5Sclose(space) }
        let type = try h5Check(H5Tcopy(strata_h5t_c_s1()), path, "copy a string type")
        defer { H5Tclose(type) }
        H5Tset_size(type, strata_h5t_variable())
        H5Tset_cset(type, H5T_CSET_UTF8)
        let attribute = try h5Check(
            H5Acreate2(object, name, type, space, strata_h5p_default(), strata_h5p_default()), path,
            "create attribute '\(name)'")
        defer { H5Aclose(attribute) }
        // HDF5 reads variable-length strings through an array of C string pointers, alive for the call.
        let pointers = values.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        try h5Check(H5Awrite(attribute, type, pointers), path, "write attribute '\(name)'")
    }

    private func dataspace(count: Int, scalar: Bool) throws -> hid_t {
        if scalar && count == 1 {
            return try h5Check(H5Screate(H5S_SCALAR), path, "create a scalar dataspace")
        }
        var dims = [hsize_t(count)]
        return try h5Check(H5Screate_simple(1, &dims, nil), path, "create a dataspace")
    }
}
