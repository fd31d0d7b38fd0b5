/* ggml's block formats (see quant.h): dequantization as llama.cpp's
 * dequantize_row_* computes it, and plain round-to-nearest quantizers whose
 * output any ggml reader decodes (they choose scales more simply than
 * llama.cpp's quantize tool, so their error is somewhat larger). */
#include <math.h>
#include <string.h>

/* Dequantization runs over every weight on every product: GCC's -O2 cost
 * model leaves these short int-to-float loops scalar, -O3 vectorises them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include "io/safetensors.h"
#include "nn/quant.h"

#define QK 32   /* values per block of the _0/_1 formats */
#define QKK 256 /* values per super-block of the K formats */

static float half(const uint8_t *p)
{
	return lms_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

static void put_half(uint8_t *p, float f)
{
	uint16_t h = lms_f32_to_f16(f);
	p[0] = (uint8_t)h;
	p[1] = (uint8_t)(h >> 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int clampi(long v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : (int)v;
}

/* ---- float formats ---------------------------------------------------------- */

static void quant_f32(void *blocks, const float *in, size_t n)
{
	memcpy(blocks, in, n * sizeof(float));
}

static void quant_f16(void *blocks, const float *in, size_t n)
{
	uint8_t *p = blocks;
	for (size_t i = 0; i < n; i++)
		put_half(p + 2 * i, in[i]);
}

static void quant_bf16(void *blocks, const float *in, size_t n)
{
	uint8_t *p = blocks;
	for (size_t i = 0; i < n; i++) {
		uint16_t h = lms_f32_to_bf16(in[i]);
		p[2 * i] = (uint8_t)h;
		p[2 * i + 1] = (uint8_t)(h >> 8);
	}
}

/* ---- 32-value blocks -------------------------------------------------------- */

/* The loops below read blocks through restrict pointers: a uint8_t
 * pointer may alias the float output, which would keep the compiler from
 * vectorising them. */
void lms_dequant_q8_0(float *out, const void *blocks, size_t n)
{
	const uint8_t *restrict b = blocks;
	for (size_t i = 0; i < n / QK; i++, b += 34) {
		float d = half(b);
		float *restrict y = out + i * QK;
		const int8_t *restrict q = (const int8_t *)(b + 2);
		for (int j = 0; j < QK; j++)
			y[j] = d * (float)q[j];
	}
}

/* Q4_0 and Q4_1: value j is the low nibble of qs[j], value j + 16 the high. */
void lms_dequant_q4_0(float *out, const void *blocks, size_t n)
{
	const uint8_t *restrict b = blocks;
	for (size_t i = 0; i < n / QK; i++, b += 18) {
		float d = half(b);
		float *restrict y = out + i * QK;
		for (int j = 0; j < QK / 2; j++) {
			y[j] = d * (float)((b[2 + j] & 0xf) - 8);
			y[j + 16] = d * (float)((b[2 + j] >> 4) - 8);
		}
	}
}

void lms_dequant_q4_1(float *out, const void *blocks, size_t n)
{
	const uint8_t *restrict b = blocks;
	for (size_t i = 0; i < n / QK; i++, b += 20) {
		float d = half(b), m = half(b + 2);
		float *restrict y = out + i * QK;
		for (int j = 0; j < QK / 2; j++) {
			y[j] = d * (float)(b[4 + j] & 0xf) + m;
			y[j + 16] = d * (float)(b[4 + j] >> 4) + m;
		}
	}
}

/* Q5: the nibbles of Q4, and bit j of qh is bit 4 of value j. */
static void q5_values(const uint8_t *qh4, const uint8_t *qs, int q[QK])
{
	uint32_t qh = le32(qh4);
	for (int j = 0; j < QK / 2; j++) {
		q[j] = (qs[j] & 0xf) | (int)((qh >> j) & 1) << 4;
		q[j + 16] = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
	}
}

void lms_dequant_q5_0(float *out, const void *blocks, size_t n)
{
	const uint8_t *b = blocks;
	int q[QK];
	for (size_t i = 0; i < n / QK; i++, b += 22) {
		float d = half(b);
		q5_values(b + 2, b + 6, q);
		for (int j = 0; j < QK; j++)
			out[i * QK + j] = d * (float)(q[j] - 16);
	}
}

void lms_dequant_q5_1(float *out, const void *blocks, size_t n)
{
	const uint8_t *b = blocks;
	int q[QK];
	for (size_t i = 0; i < n / QK; i++, b += 24) {
		float d = half(b), m = half(b + 2);
		q5_values(b + 4, b + 8, q);
		for (int j = 0; j < QK; j++)
			out[i * QK + j] = d * (float)q[j] + m;
	}
}

/* Symmetric blocks (Q8_0, Q4_0, Q5_0): d = the value of largest magnitude
 * over -lo (ggml's choice for the 4- and 5-bit ones, so the extreme value
 * lands on the code lo), q = round(x / d) clamped. */
static float sym_scale(const float *x, int lo)
{
	float max = 0, amax = 0;
	for (int j = 0; j < QK; j++)
		if (fabsf(x[j]) > amax) {
			amax = fabsf(x[j]);
			max = x[j];
		}
	return max / (float)-lo;
}

static void quant_q8_0(void *blocks, const float *in, size_t n)
{
	uint8_t *b = blocks;
	for (size_t i = 0; i < n / QK; i++, b += 34) {
		const float *x = in + i * QK;
		float amax = 0;
		for (int j = 0; j < QK; j++)
			amax = fmaxf(amax, fabsf(x[j]));
		put_half(b, amax / 127);
		float d = half(b), id = d ? 1 / d : 0;
		for (int j = 0; j < QK; j++)
			b[2 + j] = (uint8_t)(int8_t)clampi(lroundf(x[j] * id), -127, 127);
	}
}

/* q in [0, 2^bits) from offset + x / d. */
static void codes(const float *x, int q[QK], float d, float offset, int bits)
{
	float id = d ? 1 / d : 0;
	for (int j = 0; j < QK; j++)
		q[j] = clampi(lroundf(x[j] * id + offset), 0, (1 << bits) - 1);
}

static void pack_nibbles(uint8_t *qs, const int q[QK])
{
	for (int j = 0; j < QK / 2; j++)
		qs[j] = (uint8_t)((q[j] & 0xf) | (q[j + 16] & 0xf) << 4);
}

static void pack_qh(uint8_t *qh4, const int q[QK])
{
	uint32_t qh = 0;
	for (int j = 0; j < QK; j++)
		qh |= (uint32_t)((q[j] >> 4) & 1) << j;
	for (int k = 0; k < 4; k++)
		qh4[k] = (uint8_t)(qh >> (8 * k));
}

static void quant_q4_0(void *blocks, const float *in, size_t n)
{
	uint8_t *b = blocks;
	int q[QK];
	for (size_t i = 0; i < n / QK; i++, b += 18) {
		put_half(b, sym_scale(in + i * QK, -8));
		codes(in + i * QK, q, half(b), 8, 4);
		pack_nibbles(b + 2, q);
	}
}

static void quant_q5_0(void *blocks, const float *in, size_t n)
{
	uint8_t *b = blocks;
	int q[QK];
	for (size_t i = 0; i < n / QK; i++, b += 22) {
		put_half(b, sym_scale(in + i * QK, -16));
		codes(in + i * QK, q, half(b), 16, 5);
		pack_qh(b + 2, q);
		pack_nibbles(b + 6, q);
	}
}

/* Q4_1 and Q5_1: m = the block's minimum, d = range / (2^bits - 1). */
static void quant_affine(const float *in, uint8_t *b, int bits)
{
	float lo = in[0], hi = in[0];
	for (int j = 1; j < QK; j++) {
		lo = fminf(lo, in[j]);
		hi = fmaxf(hi, in[j]);
	}
	put_half(b, (hi - lo) / (float)((1 << bits) - 1));
	put_half(b + 2, lo);
	float m = half(b + 2);
	float x[QK];
	for (int j = 0; j < QK; j++)
		x[j] = in[j] - m;
	int q[QK];
	codes(x, q, half(b), 0, bits);
	if (bits == 5)
		pack_qh(b + 4, q);
	pack_nibbles(b + (bits == 5 ? 8 : 4), q);
}

static void quant_q4_1(void *blocks, const float *in, size_t n)
{
	for (size_t i = 0; i < n / QK; i++)
		quant_affine(in + i * QK, (uint8_t *)blocks + i * 20, 4);
}

static void quant_q5_1(void *blocks, const float *in, size_t n)
{
	for (size_t i = 0; i < n / QK; i++)
		quant_affine(in + i * QK, (uint8_t *)blocks + i * 24, 5);
}

/* ---- K formats: 256-value super-blocks -------------------------------------
 * Q4_K and Q5_K share the 12 scale bytes: eight 6-bit scales sc[j] and mins
 * mn[j], one per sub-block of 32 values (ggml's get_scale_min_k4):
 *   j < 4:  sc = s[j] & 63,                          mn = s[j + 4] & 63
 *   j >= 4: sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4,
 *           mn = (s[j + 4] >> 4) | (s[j] >> 6) << 4
 * Sub-blocks 2k and 2k + 1 share the 32 bytes qs[32k .. 32k + 31]: the low
 * nibbles are sub-block 2k, the high ones 2k + 1. Q5_K's fifth bit of value
 * l of sub-block j is bit j of qh[l]. */
static void scale_min_k4(int j, const uint8_t *s, int *sc, int *mn)
{
	if (j < 4) {
		*sc = s[j] & 63;
		*mn = s[j + 4] & 63;
	} else {
		*sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
		*mn = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
	}
}

/* Sub-blocks 2p and 2p + 1 (64 values) at a time, as ggml's
 * dequantize_row_q4_K: branch-free inner loops the compiler vectorises. */
static void dequant_k45(const uint8_t *restrict b, float *restrict y, int fifth)
{
	float d = half(b), dmin = half(b + 2);
	const uint8_t *s = b + 4, *restrict qh = b + 16, *restrict qs = b + (fifth ? 48 : 16);
	for (int p = 0; p < 4; p++) {
		int sc1, mn1, sc2, mn2;
		scale_min_k4(2 * p, s, &sc1, &mn1);
		scale_min_k4(2 * p + 1, s, &sc2, &mn2);
		float d1 = d * (float)sc1, m1 = dmin * (float)mn1;
		float d2 = d * (float)sc2, m2 = dmin * (float)mn2;
		const uint8_t *restrict q = qs + 32 * p;
		float *restrict y1 = y + 64 * p, *restrict y2 = y1 + 32;
		int h1 = 2 * p, h2 = 2 * p + 1, hb = fifth ? 16 : 0;
		for (int l = 0; l < 32; l++)
			y1[l] = d1 * (float)((q[l] & 0xf) + (((qh[l] >> h1) & 1) * hb)) - m1;
		for (int l = 0; l < 32; l++)
			y2[l] = d2 * (float)((q[l] >> 4) + (((qh[l] >> h2) & 1) * hb)) - m2;
	}
}

void lms_dequant_q4_k(float *out, const void *blocks, size_t n)
{
	for (size_t i = 0; i < n / QKK; i++)
		dequant_k45((const uint8_t *)blocks + i * 144, out + i * QKK, 0);
}

void lms_dequant_q5_k(float *out, const void *blocks, size_t n)
{
	for (size_t i = 0; i < n / QKK; i++)
		dequant_k45((const uint8_t *)blocks + i * 176, out + i * QKK, 1);
}

/* Q6_K: two halves of 128 values; in half c, value 128c + 32g + l (g < 4,
 * l < 32) has low four bits from ql[64c + l + 32 (g & 1)] (low nibble for
 * g < 2, high for g >= 2) and high two bits (qh[32c + l] >> 2g) & 3; its
 * scale is the int8 scales[value / 16]. x = d sc (q - 32). */
void lms_dequant_q6_k(float *out, const void *blocks, size_t n)
{
	for (size_t i = 0; i < n / QKK; i++) {
		const uint8_t *restrict b = (const uint8_t *)blocks + i * 210;
		float d = half(b + 208);
		for (int c = 0; c < 2; c++) { /* ggml's dequantize_row_q6_K, one half at a time */
			const uint8_t *restrict ql = b + 64 * c, *restrict qh = b + 128 + 32 * c;
			const int8_t *restrict sc = (const int8_t *)(b + 192) + 8 * c;
			float *restrict y = out + i * QKK + 128 * c;
			for (int l = 0; l < 32; l++) {
				int is = l / 16;
				int q1 = ((ql[l] & 0xf) | ((qh[l] & 3) << 4)) - 32;
				int q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
				int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
				int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
				y[l] = d * (float)sc[is] * (float)q1;
				y[l + 32] = d * (float)sc[is + 2] * (float)q2;
				y[l + 64] = d * (float)sc[is + 4] * (float)q3;
				y[l + 96] = d * (float)sc[is + 6] * (float)q4;
			}
		}
	}
}

/* Sub-block scales and mins for Q4_K / Q5_K: x ~ d sc q - dmin mn with
 * q in [0, qmax]; mins are clipped at 0 (a block of positive values
 * starts at 0). */
static void quant_k45(const float *x, uint8_t *b, int fifth)
{
	int qmax = fifth ? 31 : 15;
	float scf[8], mnf[8], smax = 0, mmax = 0;
	for (int j = 0; j < 8; j++) {
		float lo = 0, hi = 0;
		for (int l = 0; l < 32; l++) {
			lo = fminf(lo, x[32 * j + l]);
			hi = fmaxf(hi, x[32 * j + l]);
		}
		scf[j] = (hi - lo) / (float)qmax;
		mnf[j] = -lo;
		smax = fmaxf(smax, scf[j]);
		mmax = fmaxf(mmax, mnf[j]);
	}
	put_half(b, smax / 63);
	put_half(b + 2, mmax / 63);
	float d = half(b), dmin = half(b + 2);
	uint8_t *s = b + 4, *qh = b + 16, *qs = b + (fifth ? 48 : 16);
	memset(s, 0, 12);
	if (fifth)
		memset(qh, 0, 32);
	memset(qs, 0, 128);
	for (int j = 0; j < 8; j++) {
		int sc = d ? clampi(lroundf(scf[j] / d), 0, 63) : 0;
		int mn = dmin ? clampi(lroundf(mnf[j] / dmin), 0, 63) : 0;
		if (j < 4) {
			s[j] |= (uint8_t)sc;
			s[j + 4] |= (uint8_t)mn;
		} else {
			s[j + 4] = (uint8_t)((sc & 15) | (mn & 15) << 4);
			s[j - 4] |= (uint8_t)((sc >> 4) << 6);
			s[j] |= (uint8_t)((mn >> 4) << 6);
		}
		float ds = d * (float)sc, m = dmin * (float)mn;
		for (int l = 0; l < 32; l++) {
			int q = ds ? clampi(lroundf((x[32 * j + l] + m) / ds), 0, qmax) : 0;
			qs[32 * (j / 2) + l] |= (uint8_t)((q & 15) << (j & 1 ? 4 : 0));
			if (fifth)
				qh[l] |= (uint8_t)(((q >> 4) & 1) << j);
		}
	}
}

static void quant_q4_k(void *blocks, const float *in, size_t n)
{
	for (size_t i = 0; i < n / QKK; i++)
		quant_k45(in + i * QKK, (uint8_t *)blocks + i * 144, 0);
}

static void quant_q5_k(void *blocks, const float *in, size_t n)
{
	for (size_t i = 0; i < n / QKK; i++)
		quant_k45(in + i * QKK, (uint8_t *)blocks + i * 176, 1);
}

/* Q6_K: sub-block scale amax / 31 as int8 multiples of d = max / 127. */
static void quant_q6_k_block(const float *x, uint8_t *b)
{
	float scf[16], smax = 0;
	for (int s = 0; s < 16; s++) {
		float amax = 0;
		for (int l = 0; l < 16; l++)
			amax = fmaxf(amax, fabsf(x[16 * s + l]));
		scf[s] = amax / 31;
		smax = fmaxf(smax, scf[s]);
	}
	put_half(b + 208, smax / 127);
	float d = half(b + 208);
	uint8_t *ql = b, *qh = b + 128;
	int8_t *sc = (int8_t *)(b + 192);
	memset(b, 0, 192);
	for (int s = 0; s < 16; s++)
		sc[s] = (int8_t)(d ? clampi(lroundf(scf[s] / d), 0, 127) : 0);
	for (int v = 0; v < QKK; v++) {
		float ds = d * (float)sc[v / 16];
		int q = ds ? clampi(lroundf(x[v] / ds), -32, 31) + 32 : 32;
		int c = v / 128, g = (v % 128) / 32, l = v % 32;
		ql[64 * c + l + 32 * (g & 1)] |= (uint8_t)((q & 15) << (g < 2 ? 0 : 4));
		qh[32 * c + l] |= (uint8_t)((q >> 4) << (2 * g));
	}
}

static void quant_q6_k(void *blocks, const float *in, size_t n)
{
	for (size_t i = 0; i < n / QKK; i++)
		quant_q6_k_block(in + i * QKK, (uint8_t *)blocks + i * 210);
}

/* ---- dispatch ------------------------------------------------------------------ */

typedef void (*quant_fn)(void *dst, const float *src, size_t n);

static const quant_fn quantizers[LMS_W_NTYPES] = {
	[LMS_W_F32] = quant_f32,   [LMS_W_F16] = quant_f16,   [LMS_W_BF16] = quant_bf16,
	[LMS_W_Q8_0] = quant_q8_0, [LMS_W_Q4_0] = quant_q4_0, [LMS_W_Q4_1] = quant_q4_1,
	[LMS_W_Q5_0] = quant_q5_0, [LMS_W_Q5_1] = quant_q5_1, [LMS_W_Q4_K] = quant_q4_k,
	[LMS_W_Q5_K] = quant_q5_k, [LMS_W_Q6_K] = quant_q6_k,
};

void lms_quantize(void *dst, const float *src, enum lms_wtype t, size_t n)
{
	quantizers[t](dst, src, n);
}

/* ---- finiteness --------------------------------------------------------------
 * A quantized block decodes to finite values exactly when its half scales
 * are finite (the codes are small integers and no product of a half by them
 * overflows a float), so only the scales are read. */
static int half_finite(const unsigned char *p)
{
	return (p[1] & 0x7c) != 0x7c;
}

int lms_quant_finite(const void *src, enum lms_wtype t, size_t n)
{
	const unsigned char *p = src;
	static const struct {
		int at[2]; /* byte offsets of the block's halves (-1: none) */
	} scales[LMS_W_NTYPES] = {
		[LMS_W_Q8_0] = {{0, -1}}, [LMS_W_Q4_0] = {{0, -1}},   [LMS_W_Q5_0] = {{0, -1}},
		[LMS_W_Q4_1] = {{0, 2}},  [LMS_W_Q5_1] = {{0, 2}},    [LMS_W_Q4_K] = {{0, 2}},
		[LMS_W_Q5_K] = {{0, 2}},  [LMS_W_Q6_K] = {{208, -1}},
	};
	if (t == LMS_W_F32) {
		for (size_t i = 0; i < n; i++) {
			float f;
			memcpy(&f, p + 4 * i, 4);
			if (!isfinite(f))
				return 0;
		}
		return 1;
	}
	if (t == LMS_W_F16 || t == LMS_W_BF16) {
		unsigned char mask = t == LMS_W_F16 ? 0x7c : 0x7f;
		for (size_t i = 0; i < n; i++)
			if ((p[2 * i + 1] & mask) == mask && (t == LMS_W_F16 || (p[2 * i] & 0x80)))
				return 0;
		return 1;
	}
	size_t bb = lms_wtype_block_bytes(t), nb = n / (size_t)lms_wtype_block(t);
	for (size_t b = 0; b < nb; b++)
		for (int k = 0; k < 2; k++)
			if (scales[t].at[k] >= 0 && !half_finite(p + b * bb + scales[t].at[k]))
				return 0;
	return 1;
}
