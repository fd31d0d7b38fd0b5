/* llama.cpp's (ggml's) block-quantized weight formats: per-block
 * dequantization to float32 and a plain quantizer for each, used by the
 * GGUF reader and writer (io/gguf.c) and the weight products.
 *
 * A row of n values (n a multiple of the type's block length) is n / blk
 * consecutive blocks of `bytes` bytes each, laid out exactly as ggml's
 * block_* structs (little-endian, packed; scales are IEEE half):
 *   Q8_0  32 values, 34 bytes: d, qs[32] int8            x = d q
 *   Q4_0  32 values, 18 bytes: d, qs[16] nibbles         x = d (q - 8)
 *   Q4_1  32 values, 20 bytes: d, m, qs[16]              x = d q + m
 *   Q5_0  32 values, 22 bytes: d, qh[4], qs[16]          x = d (q - 16)
 *   Q5_1  32 values, 24 bytes: d, m, qh[4], qs[16]       x = d q + m
 *         (low nibble of qs[j] is value j, high nibble value j + 16; bit j
 *         of the little-endian uint32 qh is bit 4 of value j)
 *   Q4_K  256 values, 144 bytes: d, dmin, scales[12], qs[128]: eight
 *         sub-blocks of 32 with 6-bit scale sc and min mn each,
 *         x = d sc q - dmin mn
 *   Q5_K  256 values, 176 bytes: d, dmin, scales[12], qh[32], qs[128]: as
 *         Q4_K with a fifth bit from qh
 *   Q6_K  256 values, 210 bytes: ql[128], qh[64], scales[16] int8, d:
 *         sixteen sub-blocks of 16, x = d sc (q - 32)
 * (the K formats' bit layouts are spelled out in quant.c). */
#ifndef LMS_QUANT_H
#define LMS_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* The ggml type ids, as GGUF files store them. */
enum lms_qtype {
	LMS_Q_F32 = 0,
	LMS_Q_F16 = 1,
	LMS_Q_Q4_0 = 2,
	LMS_Q_Q4_1 = 3,
	LMS_Q_Q5_0 = 6,
	LMS_Q_Q5_1 = 7,
	LMS_Q_Q8_0 = 8,
	LMS_Q_Q4_K = 12,
	LMS_Q_Q5_K = 13,
	LMS_Q_Q6_K = 14,
	LMS_Q_BF16 = 30,
};

struct lms_qtype_info {
	enum lms_qtype type;
	const char *name;  /* "Q4_K", as llama.cpp names it */
	int blk;           /* values per block */
	int bytes;         /* bytes per block */
	/* blocks -> out (n values, n % blk == 0) */
	void (*dequant)(const void *blocks, float *out, int64_t n);
	/* in (n values) -> blocks; a plain round-to-nearest quantizer */
	void (*quant)(const float *in, void *blocks, int64_t n);
};

/* The type's description, or NULL for a type lmscope does not read. */
const struct lms_qtype_info *lms_qtype_get(uint32_t type);
/* By name, case-insensitive ("q8_0", "F16"); NULL when unknown. */
const struct lms_qtype_info *lms_qtype_by_name(const char *name);
/* Bytes of a row of n values (n % blk == 0). */
size_t lms_qtype_row_bytes(const struct lms_qtype_info *q, int64_t n);

void lms_dequant_f32(const void *blocks, float *out, int64_t n);
void lms_dequant_f16(const void *blocks, float *out, int64_t n);
void lms_dequant_bf16(const void *blocks, float *out, int64_t n);
void lms_dequant_q8_0(const void *blocks, float *out, int64_t n);
void lms_dequant_q4_0(const void *blocks, float *out, int64_t n);
void lms_dequant_q4_1(const void *blocks, float *out, int64_t n);
void lms_dequant_q5_0(const void *blocks, float *out, int64_t n);
void lms_dequant_q5_1(const void *blocks, float *out, int64_t n);
void lms_dequant_q4_k(const void *blocks, float *out, int64_t n);
void lms_dequant_q5_k(const void *blocks, float *out, int64_t n);
void lms_dequant_q6_k(const void *blocks, float *out, int64_t n);

#endif
