import StrataKernels

/// The instruction set the kernels run with, chosen at run time (see `strata_dispatch.h`).
///
/// ```swift
/// try KernelISA.validateEnvironment()   // throws if STRATA_ISA names an unknown or unsupported ISA
/// KernelISA.active                      // .avx512bf16 on a CPU that has it
/// ```
public enum KernelISA: String, CaseIterable, Sendable, Codable {
    case scalar, avx2, avx512, avx512bf16

    var cValue: strata_isa { strata_isa(rawValue: UInt32(Self.allCases.firstIndex(of: self)!)) }

    init(_ c: strata_isa) { self = Self.allCases[Int(c.rawValue)] }

    /// Whether this CPU can run the ISA.
    public var isSupported: Bool { strata_isa_supported(cValue) != 0 }

    /// The best ISA this CPU supports.
    public static var best: KernelISA { KernelISA(strata_isa_best()) }

    /// The ISA in use now.
    public static var active: KernelISA { KernelISA(strata_isa_active()) }

    /// The ISAs this CPU supports, scalar first.
    public static var supported: [KernelISA] { allCases.filter(\.isSupported) }

    /// Forces `isa` for all later kernel calls.
    public static func use(_ isa: KernelISA) throws {
        guard strata_isa_set(isa.cValue) == 0 else {
            throw StrataError.invalidArgument(name: "ISA", reason: "this CPU does not support \(isa.rawValue); supported: "
                + supported.map(\.rawValue).joined(separator: ", "))
        }
    }

    /// Checks the `STRATA_ISA` environment variable: an unknown name or an ISA this CPU lacks is an error.
    public static func validateEnvironment(_ environment: [String: String]) throws {
        guard let name = environment["STRATA_ISA"], !name.isEmpty else { return }
        guard let isa = KernelISA(rawValue: name) else {
            throw StrataError.invalidArgument(name: "STRATA_ISA", reason: "unknown ISA '\(name)'; expected one of "
                + allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard isa.isSupported else {
            throw StrataError.invalidArgument(name: "STRATA_ISA", reason: "this CPU does not support \(name); supported: "
                + supported.map(\.rawValue).joined(separator: ", "))
        }
        try use(isa)
    }
}
