// The Winograd tile transforms (winograd_tiles.h) compiled for AVX-512: 16 tiles per vector.
#include "winograd.h"

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))), apply_to = function)
#define WINO_FN(name) name##_avx512
#define WINO_TABLE const wino_kernels strata_wino_kernels_avx512
#include "winograd_tiles.h"
#define WINO_TABLE5 const wino_kernels strata_wino_kernels5_avx512
#include "winograd_tiles5.h"
#pragma clang attribute pop
