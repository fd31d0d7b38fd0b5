/* quant.c: every block format decoded from hand-made blocks, against the
 * values the format's definition gives (ggml's dequantize_row_* loops,
 * written out here in their own shape, plus literal spot values worked by
 * hand), and the quantizers' round trips within each format's error. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <check.h>

#include "nn/quant.h"
#include "testutil.h"

/* Halves used as scales: 0.25, 0.5, 1.0, 2.0 and -1.0. */
#define H_QUARTER 0x00, 0x34
#define H_HALF 0x00, 0x38
#define H_ONE 0x00, 0x3c
#define H_TWO 0x00, 0x40
#define H_MINUS_ONE 0x00, 0xbc

static void decode(enum lms_wtype type, const uint8_t *blk, float *out, int n)
{
	ck_assert(lms_wtype_available(type));
	lms_wtype_to_f32(out, blk, type, (size_t)n);
}

START_TEST(test_q8_0)
{
	uint8_t b[34] = {H_HALF};
	for (int j = 0; j < 32; j++)
		b[2 + j] = (uint8_t)(int8_t)(j * 7 - 100);
	float y[32];
	decode(LMS_W_Q8_0, b, y, 32);
	for (int j = 0; j < 32; j++)
		ck_assert_float_eq(y[j], 0.5f * (float)(j * 7 - 100));
	ck_assert_float_eq(y[0], -50.0f);
}
END_TEST

/* qs[j] = j | (15 - j) << 4 in the 4- and 5-bit blocks below. */
static void nibbles(uint8_t *qs)
{
	for (int j = 0; j < 16; j++)
		qs[j] = (uint8_t)(j | (15 - j) << 4);
}

START_TEST(test_q4_0)
{
	uint8_t b[18] = {H_TWO};
	nibbles(b + 2);
	float y[32];
	decode(LMS_W_Q4_0, b, y, 32);
	for (int j = 0; j < 16; j++) {
		ck_assert_float_eq(y[j], 2.0f * (float)(j - 8));
		ck_assert_float_eq(y[j + 16], 2.0f * (float)(7 - j));
	}
}
END_TEST

START_TEST(test_q4_1)
{
	uint8_t b[20] = {H_HALF, H_MINUS_ONE};
	nibbles(b + 4);
	float y[32];
	decode(LMS_W_Q4_1, b, y, 32);
	for (int j = 0; j < 16; j++) {
		ck_assert_float_eq(y[j], 0.5f * (float)j - 1.0f);
		ck_assert_float_eq(y[j + 16], 0.5f * (float)(15 - j) - 1.0f);
	}
}
END_TEST

/* qh = 0xf0f0a55a (bytes 5a a5 f0 f0): bit k is the fifth bit of value k. */
static const uint8_t QH[4] = {0x5a, 0xa5, 0xf0, 0xf0};

static int q5(int k)
{
	uint32_t qh = 0xf0f0a55au;
	int lo = k < 16 ? k : 15 - (k - 16);
	return lo + 16 * (int)((qh >> k) & 1);
}

START_TEST(test_q5_0)
{
	uint8_t b[22] = {H_QUARTER};
	memcpy(b + 2, QH, 4);
	nibbles(b + 6);
	float y[32];
	decode(LMS_W_Q5_0, b, y, 32);
	for (int k = 0; k < 32; k++)
		ck_assert_float_eq(y[k], 0.25f * (float)(q5(k) - 16));
	/* by hand: value 0 has bit 0 of 0x5a (0), value 1 bit 1 (1), value 16
	 * nibble 15 and bit 16 (0), value 20 nibble 11 and bit 20 (1) */
	ck_assert_float_eq(y[0], -4.0f);
	ck_assert_float_eq(y[1], 0.25f);
	ck_assert_float_eq(y[16], -0.25f);
	ck_assert_float_eq(y[20], 2.75f);
}
END_TEST

START_TEST(test_q5_1)
{
	uint8_t b[24] = {H_QUARTER, H_ONE};
	memcpy(b + 4, QH, 4);
	nibbles(b + 8);
	float y[32];
	decode(LMS_W_Q5_1, b, y, 32);
	for (int k = 0; k < 32; k++)
		ck_assert_float_eq(y[k], 0.25f * (float)q5(k) + 1.0f);
	ck_assert_float_eq(y[20], 0.25f * 27 + 1.0f);
}
END_TEST

/* The K formats' 12 scale bytes, decoded by hand into six-bit scales and
 * mins (see quant.c for the packing):
 *   j < 4: s[j] & 63 and s[j+4] & 63;
 *   j >= 4: low four bits from s[j+4], top two from s[j-4] >> 6 and s[j] >> 6. */
static const uint8_t KS[12] = {0x41, 0x82, 0xc3, 0x04, 0x45, 0x86,
                               0x07, 0xc8, 0x21, 0x43, 0x65, 0x87};
static const int KSC[8] = {1, 2, 3, 4, 17, 35, 53, 7};
static const int KMN[8] = {5, 6, 7, 8, 18, 36, 6, 56};

/* ggml's dequantize_row_q4_K / q5_K loop: 64 values at a time, the low
 * nibbles of 32 bytes with scale pair `is`, then their high nibbles with
 * `is + 1`; Q5_K takes the fifth bit from qh with the masks u1, u2. */
static void k45_expected(const uint8_t *qs, const uint8_t *qh, float d, float dmin, float *y)
{
	int is = 0;
	uint8_t u1 = 1, u2 = 2;
	for (int j = 0; j < 256; j += 64) {
		float d1 = d * (float)KSC[is], m1 = dmin * (float)KMN[is];
		float d2 = d * (float)KSC[is + 1], m2 = dmin * (float)KMN[is + 1];
		for (int l = 0; l < 32; ++l)
			*y++ = d1 * (float)((qs[l] & 0xF) + (qh && (qh[l] & u1) ? 16 : 0)) - m1;
		for (int l = 0; l < 32; ++l)
			*y++ = d2 * (float)((qs[l] >> 4) + (qh && (qh[l] & u2) ? 16 : 0)) - m2;
		qs += 32;
		is += 2;
		u1 <<= 2;
		u2 <<= 2;
	}
}

START_TEST(test_q4_k)
{
	uint8_t b[144] = {H_HALF, H_QUARTER};
	memcpy(b + 4, KS, 12);
	for (int i = 0; i < 128; i++)
		b[16 + i] = (uint8_t)(i * 7 + 3);
	float y[256], want[256];
	decode(LMS_W_Q4_K, b, y, 256);
	k45_expected(b + 16, NULL, 0.5f, 0.25f, want);
	for (int i = 0; i < 256; i++)
		ck_assert_float_eq(y[i], want[i]);
	/* by hand: qs[0] = 3 (nibbles 3, 0), qs[127] = 0x7c */
	ck_assert_float_eq(y[0], 0.5f * 1 * 3 - 0.25f * 5);
	ck_assert_float_eq(y[32], -0.25f * 6);
	ck_assert_float_eq(y[255], 0.5f * 7 * 7 - 0.25f * 56);
}
END_TEST

START_TEST(test_q5_k)
{
	uint8_t b[176] = {H_HALF, H_QUARTER};
	memcpy(b + 4, KS, 12);
	for (int l = 0; l < 32; l++)
		b[16 + l] = (uint8_t)(l * 37 + 11);
	for (int i = 0; i < 128; i++)
		b[48 + i] = (uint8_t)(i * 7 + 3);
	float y[256], want[256];
	decode(LMS_W_Q5_K, b, y, 256);
	k45_expected(b + 48, b + 16, 0.5f, 0.25f, want);
	for (int i = 0; i < 256; i++)
		ck_assert_float_eq(y[i], want[i]);
	/* by hand: qh[0] = 11 = 0b1011, so value 0 gains 16 (bit 0) */
	ck_assert_float_eq(y[0], 0.5f * 1 * 19 - 0.25f * 5);
}
END_TEST

START_TEST(test_q6_k)
{
	uint8_t b[210] = {0};
	for (int i = 0; i < 128; i++)
		b[i] = (uint8_t)(i * 5 + 1);
	for (int i = 0; i < 64; i++)
		b[128 + i] = (uint8_t)(i * 9 + 2);
	for (int s = 0; s < 16; s++)
		b[192 + s] = (uint8_t)(int8_t)(s - 8);
	b[208] = 0x00;
	b[209] = 0x38; /* d = 0.5 */
	float y[256], want[256];
	decode(LMS_W_Q6_K, b, y, 256);
	/* ggml's dequantize_row_q6_K */
	const uint8_t *ql = b, *qh = b + 128;
	const int8_t *sc = (const int8_t *)(b + 192);
	float *w = want;
	for (int n = 0; n < 256; n += 128) {
		for (int l = 0; l < 32; ++l) {
			int is = l / 16;
			int q1 = (int8_t)((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
			int q2 = (int8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
			int q3 = (int8_t)((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
			int q4 = (int8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
			w[l + 0] = 0.5f * (float)sc[is + 0] * (float)q1;
			w[l + 32] = 0.5f * (float)sc[is + 2] * (float)q2;
			w[l + 64] = 0.5f * (float)sc[is + 4] * (float)q3;
			w[l + 96] = 0.5f * (float)sc[is + 6] * (float)q4;
		}
		w += 128;
		ql += 64;
		qh += 32;
		sc += 8;
	}
	for (int i = 0; i < 256; i++)
		ck_assert_float_eq(y[i], want[i]);
	/* by hand: value 0 is 1 | 2 << 4 = 33 with scale -8; value 100 is the
	 * high nibble of ql[36] = 0xb5 with (qh[4] >> 6) & 3 = 0, scale -2;
	 * value 200 the high nibble of ql[72] = 0x69, (qh[40] >> 4) & 3 = 2,
	 * scale 4 */
	ck_assert_float_eq(y[0], 0.5f * -8 * 1);
	ck_assert_float_eq(y[100], 0.5f * -2 * -21);
	ck_assert_float_eq(y[200], 0.5f * 4 * 6);
}
END_TEST

START_TEST(test_floats)
{
	uint8_t h[6] = {H_HALF, H_MINUS_ONE, 0x80, 0x3f}; /* bf16 0x3f80 = 1.0 */
	float y[3];
	decode(LMS_W_F16, h, y, 2);
	ck_assert_float_eq(y[0], 0.5f);
	ck_assert_float_eq(y[1], -1.0f);
	decode(LMS_W_BF16, h + 4, y, 1);
	ck_assert_float_eq(y[0], 1.0f);
	for (int t = 0; t < LMS_W_NTYPES; t++)
		ck_assert(lms_wtype_available((enum lms_wtype)t));
}
END_TEST

/* Quantize then dequantize N(0, 1) data: the RMS error relative to the
 * data's RMS stays under the format's bound (about half a step of each
 * format's grid), a zero block stays zero, and both ends of the data's range
 * are kept within one step. */
static const struct {
	enum lms_wtype type;
	double rel_rms;
} BOUNDS[] = {
	{LMS_W_F32, 0},     {LMS_W_F16, 1e-3},  {LMS_W_BF16, 5e-3}, {LMS_W_Q8_0, 0.01},
	{LMS_W_Q4_0, 0.12}, {LMS_W_Q4_1, 0.09}, {LMS_W_Q5_0, 0.06}, {LMS_W_Q5_1, 0.045},
	{LMS_W_Q4_K, 0.10}, {LMS_W_Q5_K, 0.05}, {LMS_W_Q6_K, 0.03},
};

START_TEST(test_round_trip)
{
	enum lms_wtype type = BOUNDS[_i].type;
	const char *name = lms_wtype_name(type);
	enum { N = 1024 };
	float x[N], y[N];
	uint8_t blocks[N * 4];
	struct lms_rng g;
	lms_rng_seed(&g, 7 + (uint64_t)type);
	tu_fill_normal(x, N, 1.0f, &g);
	ck_assert_uint_le(lms_wtype_row_bytes(type, N), sizeof blocks);
	lms_quantize(blocks, x, type, N);
	lms_wtype_to_f32(y, blocks, type, N);
	double se = 0, ss = 0;
	for (int i = 0; i < N; i++) {
		se += (double)(x[i] - y[i]) * (x[i] - y[i]);
		ss += (double)x[i] * x[i];
	}
	double rel = sqrt(se / ss);
	ck_assert_msg(rel <= BOUNDS[_i].rel_rms, "%s: relative RMS error %g", name, rel);
	ck_assert_msg(rel >= BOUNDS[_i].rel_rms / 20, "%s: error %g is implausibly small", name, rel);
	memset(x, 0, sizeof x);
	lms_quantize(blocks, x, type, N);
	lms_wtype_to_f32(y, blocks, type, N);
	for (int i = 0; i < N; i++)
		ck_assert_float_eq(y[i], 0.0f);
}
END_TEST

Suite *lms_test_suite(void)
{
	Suite *s = suite_create("quant");
	TCase *tc = tcase_create("formats");
	tcase_add_test(tc, test_q8_0);
	tcase_add_test(tc, test_q4_0);
	tcase_add_test(tc, test_q4_1);
	tcase_add_test(tc, test_q5_0);
	tcase_add_test(tc, test_q5_1);
	tcase_add_test(tc, test_q4_k);
	tcase_add_test(tc, test_q5_k);
	tcase_add_test(tc, test_q6_k);
	tcase_add_test(tc, test_floats);
	tcase_add_loop_test(tc, test_round_trip, 1, (int)(sizeof BOUNDS / sizeof BOUNDS[0]));
	suite_add_tcase(s, tc);
	return s;
}
