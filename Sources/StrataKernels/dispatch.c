// Runtime ISA detection and the STRATA_ISA override (see strata_dispatch.h).
#include "strata_dispatch.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const isa_names[STRATA_ISA_COUNT] = {"scalar", "avx2", "avx512", "avx512bf16"};

int strata_isa_supported(strata_isa isa) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    switch (isa) {
    case STRATA_ISA_SCALAR: return 1;
    case STRATA_ISA_AVX2: return avx2;
    case STRATA_ISA_AVX512: return avx512;
    case STRATA_ISA_AVX512BF16: return avx512 && __builtin_cpu_supports("avx512bf16");
    }
    return 0;
#else
    return isa == STRATA_ISA_SCALAR;
#endif
}

strata_isa strata_isa_best(void) {
    for (int i = STRATA_ISA_COUNT - 1; i > 0; i--)
        if (strata_isa_supported((strata_isa)i)) return (strata_isa)i;
    return STRATA_ISA_SCALAR;
}

// -1: not yet resolved. Resolved once from the environment, then only changed by strata_isa_set.
static _Atomic int active_isa = -1;

strata_isa strata_isa_active(void) {
    int isa = atomic_load_explicit(&active_isa, memory_order_relaxed);
    if (isa >= 0) return (strata_isa)isa;
    strata_isa chosen = strata_isa_best();
    const char *env = getenv("STRATA_ISA");
    strata_isa forced;
    // An invalid or unsupported STRATA_ISA is reported by the Swift layer (KernelISA.validateEnvironment) before
    // any kernel runs; here it falls back to the best ISA so the C layer never aborts.
    if (env && *env && strata_isa_parse(env, &forced) == 0 && strata_isa_supported(forced)) chosen = forced;
    atomic_store_explicit(&active_isa, (int)chosen, memory_order_relaxed);
    return chosen;
}

int strata_isa_set(strata_isa isa) {
    if ((int)isa < 0 || isa >= STRATA_ISA_COUNT || !strata_isa_supported(isa)) return -1;
    atomic_store_explicit(&active_isa, (int)isa, memory_order_relaxed);
    return 0;
}

const char *strata_isa_name(strata_isa isa) {
    return ((int)isa >= 0 && isa < STRATA_ISA_COUNT) ? isa_names[isa] : "unknown";
}

int strata_isa_parse(const char *name, strata_isa *isa) {
    for (int i = 0; i < STRATA_ISA_COUNT; i++)
        if (strcmp(name, isa_names[i]) == 0) { *isa = (strata_isa)i; return 0; }
    return -1;
}
