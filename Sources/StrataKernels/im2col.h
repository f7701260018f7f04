// Private: im2col / col2im (im2col.c) used by conv.c. Shapes: src [Cin, H, W] (elements of esize bytes),
// col [Cin·K·K, H·W]; col2im adds a col [Cin·K·K, H·W] fp32 back onto dst [Cin, H, W] (scatter-add).
#ifndef STRATA_IM2COL_H
#define STRATA_IM2COL_H
#include <stddef.h>

void strata_im2col(const void *src, void *col, int Cin, int H, int W, int K, size_t esize);
void strata_col2im_add(const float *col, float *dst, int Cin, int H, int W, int K);
#endif
