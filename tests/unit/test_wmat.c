/* Weight matrices as stored (src/engine/nn/wmat.c): the conversions against
 * safetensors.c's scalar converters and hand-picked bit patterns, and both
 * products against their plain-loop twins (wmat_ref.c) for every float
 * type, at shapes that exercise one-row products, several tiles of rows and
 * rows wider than a tile. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "io/safetensors.h"
#include "nn/wmat.h"
#include "lmscope/status.h"
#include "nn/blas.h"
#include "testutil.h"

#define REF_TOL 1e-5

/* A (rows, cols) matrix of N(0, 1) values stored as type t (F32, F16,
 * BF16); *vals gets the stored values as float, the oracle's view. */
static void *make_matrix(enum lms_wtype t, int rows, int cols, struct lms_rng *g)
{
	size_t n = (size_t)rows * cols;
	float *x = malloc(n * sizeof *x);
	tu_fill_normal(x, n, 1.0f, g);
	if (t == LMS_W_F32)
		return x;
	uint16_t *h = malloc(n * sizeof *h);
	for (size_t i = 0; i < n; i++)
		h[i] = t == LMS_W_F16 ? lms_f32_to_f16(x[i]) : lms_f32_to_bf16(x[i]);
	free(x);
	return h;
}

START_TEST(test_types)
{
	ck_assert_str_eq(lms_wtype_name(LMS_W_Q4_K), "Q4_K");
	ck_assert_int_eq(lms_wtype_block(LMS_W_Q6_K), 256);
	ck_assert_uint_eq(lms_wtype_row_bytes(LMS_W_BF16, 10), 20);
	ck_assert_uint_eq(lms_wtype_row_bytes(LMS_W_Q8_0, 64), 68);
	ck_assert_uint_eq(lms_wtype_row_bytes(LMS_W_Q8_0, 40), 0); /* not whole blocks */
	ck_assert_uint_eq(lms_wtype_row_bytes(LMS_W_Q4_K, 512), 288);
	ck_assert(lms_wtype_available(LMS_W_F32) && lms_wtype_available(LMS_W_F16) &&
	          lms_wtype_available(LMS_W_BF16));
	ck_assert(!lms_wtype_available(LMS_W_NTYPES));
}
END_TEST

START_TEST(test_convert)
{
	/* 1, -2, 0.5, 65504 (largest half), 2^-24 (smallest subnormal), -0 */
	const uint16_t h[] = {0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000, 0x3555, 0x0400, 0x7c00};
	const float want_h[] = {1.0f,  -2.0f,       0.5f,          65504.0f, 5.9604645e-8f,
	                        -0.0f, 0.33325195f, 6.1035156e-5f, INFINITY};
	/* bfloat16: 1, -2, pi's top half, 2^-126 */
	const uint16_t b[] = {0x3f80, 0xc000, 0x4049, 0x0080, 0x3f80, 0x3f80, 0x3f80, 0x3f80, 0x3f80};
	const float want_b[] = {1.0f, -2.0f, 3.140625f, 1.1754944e-38f, 1, 1, 1, 1, 1};
	float out[9];
	lms_wtype_to_f32(out, h, LMS_W_F16, 9);
	for (int i = 0; i < 9; i++)
		ck_assert_msg(out[i] == want_h[i] && signbit(out[i]) == signbit(want_h[i]), "f16 %d: %g", i,
		              out[i]);
	lms_wtype_to_f32(out, b, LMS_W_BF16, 9);
	for (int i = 0; i < 9; i++)
		ck_assert_msg(out[i] == want_b[i], "bf16 %d: %g", i, out[i]);
	/* every half value against the scalar converter */
	uint16_t *all = malloc(65536 * sizeof *all);
	float *f = malloc(65536 * sizeof *f);
	for (int i = 0; i < 65536; i++)
		all[i] = (uint16_t)i;
	lms_wtype_to_f32(f, all, LMS_W_F16, 65536);
	for (int i = 0; i < 65536; i++) {
		float s = lms_f16_to_f32((uint16_t)i);
		ck_assert(isnan(s) ? isnan(f[i]) : memcmp(&s, &f[i], sizeof s) == 0);
	}
	free(all);
	free(f);
}
END_TEST

/* forward and backward of one (rows, cols) matrix of type t over N rows of
 * input with padded strides, against the twins */
static void check_products(enum lms_wtype t, int rows, int cols, int N, unsigned seed)
{
	struct lms_rng g;
	lms_rng_seed(&g, seed);
	void *data = make_matrix(t, rows, cols, &g);
	struct lms_wmat w = lms_wmat_of(t, data, rows, cols);
	int ldi = cols + 3, ldo = rows + 5;
	float *in = malloc((size_t)N * ldi * sizeof *in);
	float *bias = malloc((size_t)rows * sizeof *bias);
	float *out = calloc((size_t)N * ldo, sizeof *out), *ref = calloc((size_t)N * ldo, sizeof *ref);
	tu_fill_normal(in, (size_t)N * ldi, 1.0f, &g);
	tu_fill_normal(bias, (size_t)rows, 1.0f, &g);
	lms_wmat_forward(out, ldo, in, ldi, &w, bias, N);
	lms_wmat_forward_ref(ref, ldo, in, ldi, &w, bias, N);
	/* sums of cols products of N(0,1) values: relative to sqrt(cols) */
	ck_assert_double_lt(tu_max_rel_err(out, ref, (size_t)N * ldo, sqrt(cols)), REF_TOL);

	float *dout = malloc((size_t)N * ldo * sizeof *dout);
	float *din = malloc((size_t)N * ldi * sizeof *din),
		  *dref = malloc((size_t)N * ldi * sizeof *dref);
	tu_fill_normal(dout, (size_t)N * ldo, 1.0f, &g);
	tu_fill_normal(din, (size_t)N * ldi, 1.0f, &g);
	memcpy(dref, din, (size_t)N * ldi * sizeof *din);
	lms_wmat_backward(din, ldi, dout, ldo, &w, N);
	lms_wmat_backward_ref(dref, ldi, dout, ldo, &w, N);
	ck_assert_double_lt(tu_max_rel_err(din, dref, (size_t)N * ldi, sqrt(rows)), REF_TOL);
	free(data);
	free(in);
	free(bias);
	free(out);
	free(ref);
	free(dout);
	free(din);
	free(dref);
}

START_TEST(test_products)
{
	static const enum lms_wtype t[] = {LMS_W_F32, LMS_W_F16, LMS_W_BF16};
	for (int i = 0; i < 3; i++) {
		check_products(t[i], 7, 5, 1, 1);     /* one input row */
		check_products(t[i], 37, 24, 3, 2);   /* one tile */
		check_products(t[i], 3000, 40, 2, 3); /* several tiles of rows */
		check_products(t[i], 3, 40000, 2, 4); /* rows wider than a tile */
		check_products(t[i], 2, 40000, 1, 5);
	}
}
END_TEST

/* Large 16-bit products split over two cores (nn/blas.c lms_split): each
 * half of the rows on its own thread, the backward's second half summed
 * apart. The shapes are large enough to be split, and were. */
START_TEST(test_products_split)
{
	lms_set_threads_by_size(2);
	long before = lms_split_count();
	static const enum lms_wtype t[] = {LMS_W_F16, LMS_W_BF16};
	for (int i = 0; i < 2; i++) {
		check_products(t[i], 2049, 1536, 1, 6); /* a keystroke's row, odd rows */
		check_products(t[i], 1023, 768, 16, 7); /* tiles of rows */
	}
	ck_assert_int_eq(lms_split_count() - before, 8);
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"types", test_types},
		{"convert", test_convert},
		{"products", test_products},
		{"products_split", test_products_split},
	};
	return TU_SUITE("wmat", cases, 0);
}
