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

/// How bf16 operands are multiplied on CPUs with AVX512_BF16: `vdpbf16ps` on bf16 pairs, or widened to fp32 while
/// packing and run through the fp32 micro-kernel. Products of bf16 values are exact in fp32, so both give the same
/// values up to summation order. Which is faster depends on the CPU (vdpbf16ps runs at the fp32 FMA rate on some,
/// at half of it on others), so by default the first bf16 GEMM times both micro-kernels once and keeps the faster.
typedef enum { STRATA_BF16_AUTO = -1, STRATA_BF16_WIDEN = 0, STRATA_BF16_PAIRS = 1 } strata_bf16_mode;

/// Forces a bf16 mode (tests and benchmarks use it); STRATA_BF16_AUTO restores the timed choice.
void strata_gemm_set_bf16_mode(strata_bf16_mode mode);
/// The mode bf16 GEMMs use on this CPU now (times the micro-kernels on first call when automatic).
strata_bf16_mode strata_gemm_bf16_mode(void);
#endif
