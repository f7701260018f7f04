// General matrix multiply, row-major, fp32 accumulation for every storage type.
//
//   C[M,N] = alpha * op(A)[M,K] · op(B)[K,N] + beta * C[M,N]
//
// op(A) is A ([M,K], lda >= K) or, with STRATA_TRANS, A^T where A is stored [K,M] (lda >= M); likewise B is
// [K,N] (ldb >= N) or stored [N,K] (ldb >= K). Leading dimensions are in elements. C is always fp32 [M,N], ldc >= N.
// A and B share one storage type: fp32, bf16 (products in bf16, sums in fp32) or fp16 (read through F16C, computed
// in fp32). beta == 0 ignores C's prior contents (NaNs included).
#ifndef STRATA_GEMM_H
#define STRATA_GEMM_H
#include <stddef.h>
#include <stdint.h>

typedef enum { STRATA_NO_TRANS = 0, STRATA_TRANS = 1 } strata_trans;
typedef enum { STRATA_F32 = 0, STRATA_BF16 = 1, STRATA_F16 = 2 } strata_dtype;

/// The dispatched GEMM (active ISA, thread pool). A and B are `const float *` for STRATA_F32 and
/// `const uint16_t *` for STRATA_BF16 / STRATA_F16.
void strata_gemm(strata_trans trans_a, strata_trans trans_b, int M, int N, int K, float alpha,
                 const void *A, int lda, const void *B, int ldb, strata_dtype dtype,
                 float beta, float *C, int ldc);

/// The scalar reference: plain loops, single thread, fp32 accumulation in k order. Same contract as strata_gemm.
void strata_gemm_reference(strata_trans trans_a, strata_trans trans_b, int M, int N, int K, float alpha,
                           const void *A, int lda, const void *B, int ldb, strata_dtype dtype,
                           float beta, float *C, int ldc);

/// A packed once for several products that share it (Winograd's filter tiles U_e, shared by every block of tiles;
/// a convolution's weights, shared by every image): strata_gemm_pack_a writes to `packed` the panels strata_gemm
/// would pack for op(A) [M, K] of this storage type under the active ISA and bf16 mode, and returns their bytes, or
/// returns 0 and writes nothing when that ISA has no packed GEMM (scalar): the caller then uses strata_gemm.
/// strata_gemm_packed_a_bound(M, K) bounds those bytes on every ISA, mode and type, for sizing `packed` ahead;
/// 64-byte alignment is best.
///
///     size_t bytes = strata_gemm_pack_a(STRATA_NO_TRANS, M, K, A, K, STRATA_F32, packed);
///     for (int i = 0; i < count; i++)   // the same C as strata_gemm(NO_TRANS, NO_TRANS, M, N, K, 1, A, K, B[i], ...)
///         if (bytes) strata_gemm_packed_a(M, N, K, 1.0f, packed, B[i], N, STRATA_NO_TRANS, STRATA_F32, 0.0f, C[i], N);
size_t strata_gemm_pack_a(strata_trans trans_a, int M, int K, const void *A, int lda, strata_dtype dtype,
                          void *packed);
size_t strata_gemm_packed_a_bound(int M, int K);

/// C [M, N] = alpha · A · op(B) + beta · C with A from strata_gemm_pack_a for the same M, K and storage type, packed
/// under the ISA and bf16 mode still active: bit-identical to strata_gemm on the unpacked A, without packing it.
void strata_gemm_packed_a(int M, int N, int K, float alpha, const void *packed, const void *B, int ldb,
                          strata_trans trans_b, strata_dtype dtype, float beta, float *C, int ldc);

/// The panel width NR of the fp32 micro-kernel under the active ISA (48 on AVX-512, 16 on AVX2), 0 when there is none
/// (scalar): the column count of one B̃ panel for strata_gemm_packed_ab.
int strata_gemm_panel_width(void);

/// C [M, N] = Ã · B̃ + beta · C (fp32) with both operands already packed, for a caller that can write B in the packed
/// layout as it produces it (Winograd's transformed input tiles). Ã comes from strata_gemm_pack_a (M, K). B̃ is
/// ceil(N / NR) panels, NR = strata_gemm_panel_width(), panel q at packed_b + q · b_panel_stride floats and 64-byte
/// aligned (the micro-kernel's loads are): K steps of NR floats, element (k, n) at panel[k · NR + n - q · NR]. The
/// micro-kernel reads the last panel's columns up to N rounded up to 16, so they must be finite. K is at most
/// STRATA_GEMM_PACKED_MAX_K (one K slice); otherwise, or when the ISA has no packed GEMM, returns -1 without touching
/// C. The same C as strata_gemm with alpha 1.
#define STRATA_GEMM_PACKED_MAX_K 256
int strata_gemm_packed_ab(int M, int N, int K, const void *packed_a, const float *packed_b, size_t b_panel_stride,
                          float beta, float *C, int ldc);

/// How bf16 operands are multiplied on CPUs with AVX512_BF16: `vdpbf16ps` on bf16 pairs, widened to fp32 while
/// packing and run through the fp32 micro-kernel, or AMX tiles (`tdpbf16ps`). Products of bf16 values are exact in
/// fp32, so all three give the same values up to summation order. AMX, where the CPU and the OS allow it
/// (strata_gemm_amx_available), does 1024 multiply-adds per instruction, several times either AVX-512 mode, so it is
/// the default there without timing. Otherwise which is faster depends on the CPU (vdpbf16ps runs at the fp32 FMA
/// rate on some, at half of it on others), so the first bf16 GEMM times both micro-kernels once and keeps the faster.
typedef enum {
    STRATA_BF16_AUTO = -1, STRATA_BF16_WIDEN = 0, STRATA_BF16_PAIRS = 1, STRATA_BF16_AMX = 2
} strata_bf16_mode;

/// Whether bf16 GEMMs can use AMX: the CPU has AMX-TILE and AMX-BF16 and the OS granted this process the tile state
/// (asked once, on the first call).
int strata_gemm_amx_available(void);

/// Forces a bf16 mode (tests and benchmarks use it); STRATA_BF16_AUTO restores the default choice. Forcing
/// STRATA_BF16_AMX where AMX is unavailable behaves as STRATA_BF16_AUTO.
void strata_gemm_set_bf16_mode(strata_bf16_mode mode);
/// The mode bf16 GEMMs use on this CPU now (times the micro-kernels on first call when automatic).
strata_bf16_mode strata_gemm_bf16_mode(void);
#endif
