// AMX bf16 GEMM micro-kernel: a 32 x 32 block of C in four 16 x 16 fp32 tiles, fed by tdpbf16ps.
//
// Tile registers (palette 1, every tile 16 rows x 64 bytes):
//   tmm0 C[0:16, 0:16]   tmm1 C[0:16, 16:32]   tmm2 C[16:32, 0:16]   tmm3 C[16:32, 16:32]   (fp32)
//   tmm4 A[0:16, 32 k]   tmm5 A[16:32, 32 k]                                                 (bf16, row-major)
//   tmm6 B[32 k, 0:16]   tmm7 B[32 k, 16:32]   (16 k pairs x 16 columns, each word the (k, k+1) pair: VNNI order)
// One k block (32 k values, 16 pair steps) is 4 tile loads and 4 tdpbf16ps, each 16 x 16 x 32 multiply-adds.
// tdpbf16ps multiplies bf16 pairs exactly and adds in fp32 (round to nearest even, denormals flushed), as vdpbf16ps.
//
// Packed panels (gemm_internal.h): Ã in GEMM_PACK_BF16_AMX_A blocks (per k block, 32 rows x 16 words: both A tiles
// contiguous, 64-byte rows), B̃ in the pair layout with NR = 32 words per step (so a B tile is 16 steps x 64 bytes
// at a 128-byte stride), both zero-padded to whole k blocks, whole rows and whole columns. The k loop never branches
// on edges. C: a full 32 x 32 block with alpha 1 and beta 0 or 1 goes straight between tiles and C; any other block
// is stored to a local 32 x 32 buffer and copied to C with masked AVX-512 (alpha and beta applied there).
//
// The OS must grant the process the AMX tile state first (Linux: arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA)); without
// it the first tile instruction faults, so strata_gemm_amx_available() gates every use. The grant covers every thread
// of the process; the tile configuration does not: each thread loads it before its first tile instruction.
#include "gemm_internal.h"
#include <immintrin.h>
#include <pthread.h>
#include <string.h>
#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))
#define MR GEMM_AMX_MR
#define NR GEMM_AMX_NR

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static int amx_usable;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

static void probe_amx(void) {
#if defined(__linux__) && defined(__x86_64__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("amx-tile") || !__builtin_cpu_supports("amx-bf16")) return;
    if (!__builtin_cpu_supports("avx512bf16") || !__builtin_cpu_supports("avx512bw")) return;
    // Fails on kernels before 5.16 and where a sandbox filters the call: then AMX is not used.
    amx_usable = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#endif
}

int strata_gemm_amx_available(void) {
    pthread_once(&amx_once, probe_amx);
    return amx_usable;
}

// The 64-byte palette-1 configuration: tiles 0-7 are 16 rows of 64 bytes, 8-15 unused.
typedef struct {
    uint8_t palette_id, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

static _Thread_local int tiles_configured;

AMX_TARGET static void configure_tiles(void) {
    tile_config config __attribute__((aligned(64)));
    memset(&config, 0, sizeof config);
    config.palette_id = 1;
    for (int t = 0; t < 8; t++) {
        config.colsb[t] = 64;
        config.rows[t] = 16;
    }
    _tile_loadconfig(&config);
    tiles_configured = 1;
}

AMX_TARGET void strata_gemm_kernel_amx_bf16(int steps, const uint32_t *a, const uint32_t *b, float *c, size_t ldc,
                                            int m, int n, float alpha, float beta) {
    if (!tiles_configured) configure_tiles();
    int direct = m == MR && n == NR && alpha == 1.0f && (beta == 0.0f || beta == 1.0f);
    size_t c_stride = ldc * sizeof(float);
    if (direct && beta == 1.0f) {
        _tile_loadd(0, c, c_stride);
        _tile_loadd(1, c + 16, c_stride);
        _tile_loadd(2, c + 16 * ldc, c_stride);
        _tile_loadd(3, c + 16 * ldc + 16, c_stride);
    } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
    for (int block = 0; block < steps / 16; block++) {
        const uint32_t *ak = a + (size_t)block * MR * 16, *bk = b + (size_t)block * 16 * NR;
        _tile_loadd(4, ak, 64);
        _tile_loadd(5, ak + 16 * 16, 64);
        _tile_loadd(6, bk, NR * 4);
        _tile_loadd(7, bk + 16, NR * 4);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    if (direct) {
        _tile_stored(0, c, c_stride);
        _tile_stored(1, c + 16, c_stride);
        _tile_stored(2, c + 16 * ldc, c_stride);
        _tile_stored(3, c + 16 * ldc + 16, c_stride);
        return;
    }
    float block[MR * NR] __attribute__((aligned(64)));
    _tile_stored(0, block, NR * 4);
    _tile_stored(1, block + 16, NR * 4);
    _tile_stored(2, block + 16 * NR, NR * 4);
    _tile_stored(3, block + 16 * NR + 16, NR * 4);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        for (int col = 0; col < n; col += 16) {
            __mmask16 mask = n - col >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - col)) - 1);
            __m512 r = _mm512_mul_ps(_mm512_load_ps(block + i * NR + col), va);
            if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, ci + col), r);
            _mm512_mask_storeu_ps(ci + col, mask, r);
        }
    }
}

// The tile-only peak: 4 independent tdpbf16ps per round (the micro-kernel's pattern without its loads), sources
// loaded once with bf16 0x3a83 (about 0.001) so every accumulator stays small and normal.
AMX_TARGET double strata_gemm_amx_peak_loop(long iterations) {
    if (!strata_gemm_amx_available()) return 0;
    if (!tiles_configured) configure_tiles();
    uint16_t source[16 * 32] __attribute__((aligned(64)));
    for (int i = 0; i < 16 * 32; i++) source[i] = 0x3a83;
    float result[16 * 16] __attribute__((aligned(64)));
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_loadd(4, source, 64);
    _tile_loadd(5, source, 64);
    _tile_loadd(6, source, 64);
    _tile_loadd(7, source, 64);
    for (long it = 0; it < iterations; it++) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, result, 64);
    volatile float keep = result[0];
    (void)keep;
    return 4.0 * 16 * 16 * 32 * 2 * (double)iterations;  // 4 tiles x 16 x 16 outputs x 32 products, 2 flops each
}
