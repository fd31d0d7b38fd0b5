/* Dequantizers of the block-quantized weight types (wmat.h), one per type:
 * each converts n values, a whole number of blocks, from the stored blocks
 * at src to float, by the formulas of llama.cpp's ggml-quants.c. wmat.c's
 * dispatch table (to_f32[] in wmat.c) points its quantized entries at these.
 *
 * Block layouts (little-endian, packed; d, m, dmin are IEEE halves):
 *   Q8_0  32 values, 34 bytes: d, qs[32] int8            x = d q
 *   Q4_0  32 values, 18 bytes: d, qs[16] nibbles         x = d (q - 8)
 *   Q4_1  32 values, 20 bytes: d, m, qs[16]              x = d q + m
 *   Q5_0  32 values, 22 bytes: d, qh[4], qs[16]          x = d (q - 16)
 *   Q5_1  32 values, 24 bytes: d, m, qh[4], qs[16]       x = d q + m
 *         (low nibble of qs[j] is value j, high nibble value j + 16; bit k
 *         of the little-endian uint32 qh is bit 4 of value k)
 *   Q4_K  256 values, 144 bytes: d, dmin, scales[12], qs[128]: eight
 *         sub-blocks of 32 with 6-bit scale sc and min mn each,
 *         x = d sc q - dmin mn
 *   Q5_K  256 values, 176 bytes: d, dmin, scales[12], qh[32], qs[128]: as
 *         Q4_K with a fifth bit from qh
 *   Q6_K  256 values, 210 bytes: ql[128], qh[64], scales[16] int8, d:
 *         sixteen sub-blocks of 16, x = d sc (q - 32)
 * (the K formats' bit layouts are spelled out in quant.c).
 *
 * The quantizer goes the other way, for the GGUF writer: plain
 * round-to-nearest with simpler scale choices than llama.cpp's quantize
 * tool (so somewhat larger error), whose output any ggml reader decodes. */
#ifndef LMS_QUANT_H
#define LMS_QUANT_H

#include <stddef.h>

#include "nn/wmat.h"

void lms_dequant_q8_0(float *out, const void *src, size_t n);
void lms_dequant_q4_0(float *out, const void *src, size_t n);
void lms_dequant_q4_1(float *out, const void *src, size_t n);
void lms_dequant_q5_0(float *out, const void *src, size_t n);
void lms_dequant_q5_1(float *out, const void *src, size_t n);
void lms_dequant_q4_k(float *out, const void *src, size_t n);
void lms_dequant_q5_k(float *out, const void *src, size_t n);
void lms_dequant_q6_k(float *out, const void *src, size_t n);

/* src (n floats, a whole number of t's blocks) -> dst
 * (lms_wtype_row_bytes(t, n) bytes), for every type of wmat.h (F16 and
 * BF16 round to nearest even). */
void lms_quantize(void *dst, const float *src, enum lms_wtype t, size_t n);

/* Whether the n values (whole blocks) of type t at src all decode to
 * finite floats; reads only the scales of quantized blocks. */
int lms_quant_finite(const void *src, enum lms_wtype t, size_t n);

#endif
