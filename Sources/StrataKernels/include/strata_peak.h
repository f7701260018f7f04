// Peak arithmetic throughput loops: what the GEMM's "% of peak" is measured against.
//
// Each loop keeps 16 independent vector accumulators busy (more than FMA latency x ports, so the loop is bound by
// issue rate, not by dependency chains) and touches no memory.
#ifndef STRATA_PEAK_H
#define STRATA_PEAK_H
#include "strata_dispatch.h"
#include "strata_gemm.h"

/// Runs `iterations` rounds of the tightest multiply-add loop `isa` has for `precision` and returns the flops done
/// (2 per multiply-add). fp32 and fp16 use the fp32 FMA (fp16 GEMM computes in fp32); bf16 uses vdpbf16ps on
/// avx512bf16 and the fp32 FMA elsewhere. The scalar ISA runs 8 independent scalar multiply-adds. Returns 0 if the
/// CPU lacks `isa`.
double strata_peak_loop(strata_isa isa, strata_dtype precision, long iterations);
#endif
