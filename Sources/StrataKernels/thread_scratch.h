// Private: memory each thread keeps for its lifetime (thread_scratch.c), so that hot paths never allocate. One
// buffer per slot and thread: a caller's buffers never alias those of the pool tasks it runs, nor each other.
#ifndef STRATA_THREAD_SCRATCH_H
#define STRATA_THREAD_SCRATCH_H
#include <stddef.h>

typedef enum {
    SCRATCH_GEMM_A,         // Ã of the thread that calls strata_gemm (gemm.c)
    SCRATCH_GEMM_B,         // B̃ of the thread running a column chunk (gemm.c)
    SCRATCH_CONV_IMAGE,     // a pool thread's image workspace (conv.c)
    SCRATCH_CONV_PARTIALS,  // the weight gradient's per-chunk partial sums, calling thread (conv.c)
    SCRATCH_CONV_DCOL,      // the input gradient's dcol chunks past the workspace's, calling thread (conv_input_gradient.c)
    SCRATCH_WINO_BLOCK,     // a pool thread's Winograd block scratch (winograd.c)
    SCRATCH_WINO_PARTIALS,  // Winograd's per-chunk weight-gradient partial sums, calling thread (winograd.c)
    SCRATCH_SLOTS
} strata_scratch_slot;

/// At least `bytes` bytes, 64-byte aligned, in the calling thread's buffer for `slot`: grown on demand (earlier
/// contents are not kept when it grows), freed when the thread exits. NULL if memory is exhausted.
void *strata_thread_scratch(strata_scratch_slot slot, size_t bytes);
#endif
