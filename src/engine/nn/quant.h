/* Dequantizers of the block-quantized weight types (wmat.h), one per type:
 * each converts n values, a whole number of blocks, from the stored blocks
 * at src to float, by the formulas of llama.cpp's ggml-quants.c (the block
 * layouts are listed beside enum lms_wtype in wmat.h).
 *
 * Provided by quant.c, which the GGUF reader brings; wmat.c's dispatch table
 * (to_f32[] in wmat.c) points its quantized entries at these. Until they are
 * linked in, those entries are NULL, lms_wtype_available() is false for the
 * quantized types and loaders refuse them with LMS_EUNSUPPORTED. */
#ifndef LMS_QUANT_H
#define LMS_QUANT_H

#include <stddef.h>

void lms_dequant_q8_0(float *out, const void *src, size_t n);
void lms_dequant_q4_0(float *out, const void *src, size_t n);
void lms_dequant_q4_1(float *out, const void *src, size_t n);
void lms_dequant_q5_0(float *out, const void *src, size_t n);
void lms_dequant_q5_1(float *out, const void *src, size_t n);
void lms_dequant_q4_k(float *out, const void *src, size_t n);
void lms_dequant_q5_k(float *out, const void *src, size_t n);
void lms_dequant_q6_k(float *out, const void *src, size_t n);

#endif
