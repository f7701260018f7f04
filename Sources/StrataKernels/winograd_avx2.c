// The Winograd tile transforms (winograd_tiles.h) compiled for AVX2 + FMA: 8 tiles per vector.
#include "winograd.h"

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define WINO_FN(name) name##_avx2
#define WINO_TABLE const wino_kernels strata_wino_kernels_avx2
#include "winograd_tiles.h"
#define WINO_TABLE5 const wino_kernels strata_wino_kernels5_avx2
#include "winograd_tiles5.h"
#pragma clang attribute pop
