// Strata's CPU kernels (umbrella header). Legend: B batch, T time steps, C channels, H height, W width,
// K kernel size, G gates (4 for LSTM). Every kernel has a scalar reference and runtime-dispatched variants.
#ifndef STRATA_KERNELS_H
#define STRATA_KERNELS_H
#include "strata_dispatch.h"
#include "strata_convert.h"
#include "strata_gates.h"
#include "strata_conv.h"
#include "strata_gemm.h"
#include "strata_pool.h"
#include "strata_peak.h"
#endif
