// Runtime choice of instruction set for every kernel in this target.
//
// Each kernel has a scalar reference and variants for the ISAs below; the variant is picked at run time from what
// the CPU supports (__builtin_cpu_supports), or forced with the environment variable
// STRATA_ISA=scalar|avx2|avx512|avx512bf16 (tests and benchmarks use it). No compiler flags are needed: vector
// variants carry __attribute__((target(...))).
#ifndef STRATA_DISPATCH_H
#define STRATA_DISPATCH_H

typedef enum {
    STRATA_ISA_SCALAR = 0,      // portable C, the reference
    STRATA_ISA_AVX2 = 1,        // AVX2 + FMA + F16C
    STRATA_ISA_AVX512 = 2,      // AVX-512 F/BW/VL/DQ + FMA + F16C
    STRATA_ISA_AVX512BF16 = 3,  // AVX-512 above + AVX512_BF16 (vdpbf16ps)
} strata_isa;

#define STRATA_ISA_COUNT 4

/// Whether this CPU can run `isa`.
int strata_isa_supported(strata_isa isa);
/// The best ISA this CPU supports.
strata_isa strata_isa_best(void);
/// The ISA kernels use now: set by strata_isa_set, else STRATA_ISA if valid and supported, else the best.
strata_isa strata_isa_active(void);
/// Forces `isa` for all later kernel calls. Returns 0 on success, -1 if the CPU does not support it.
int strata_isa_set(strata_isa isa);
/// "scalar", "avx2", "avx512", "avx512bf16".
const char *strata_isa_name(strata_isa isa);
/// Parses a name as above into *isa. Returns 0 on success, -1 for an unknown name.
int strata_isa_parse(const char *name, strata_isa *isa);
#endif
