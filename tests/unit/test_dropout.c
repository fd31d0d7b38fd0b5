/* Inverted dropout's masks and kernels (src/engine/nn/dropout.c): the
 * fraction kept is 1 - p within a few standard deviations, a seed draws
 * the same masks again, kept units are scaled by 1 / (1 - p) and dropped
 * ones are 0 in the forward and the backward alike, and p outside [0, 1)
 * is refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "nn/dropout.h"
#include "testutil.h"

static size_t count_kept(const struct lms_dropout *d, int s)
{
	size_t n = 0;
	for (size_t u = 0; u < d->units; u++)
		n += (size_t)lms_dropout_kept(lms_dropout_mask(d, s), u);
	return n;
}

/* The kept count of n units is Binomial(n, 1 - p): its standard deviation
 * is sqrt(n p (1 - p)), 300 for n = 10^6 at p = 0.1; five of them is a
 * bound a correct draw crosses once in millions of runs, while a rate
 * off by 0.002 (a threshold off by one part in 500) already fails it. */
START_TEST(test_kept_fraction)
{
	const float ps[] = {0.1f, 0.5f, 0.9f};
	for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
		struct lms_dropout d;
		size_t n = 1000003; /* not a multiple of 64: the last word is partial */
		ck_assert_int_eq(lms_dropout_new(&d, ps[k], 2, n), LMS_OK);
		struct lms_rng g;
		lms_rng_seed(&g, 7 + k);
		lms_dropout_draw(&d, &g);
		double p = ps[k], sd = sqrt((double)n * p * (1 - p));
		for (int s = 0; s < 2; s++) {
			double kept = (double)count_kept(&d, s);
			ck_assert_msg(fabs(kept - (double)n * (1 - p)) < 5 * sd,
			              "p %g site %d: %.0f of %zu kept", p, s, kept, n);
		}
		/* bits past the last unit are never read as units but stay clear */
		ck_assert_uint_eq(d.bits[d.words - 1] >> (n % 64), 0);
		lms_dropout_free(&d);
	}
}
END_TEST

/* p = 0 keeps every unit and scales by exactly 1. */
START_TEST(test_zero_keeps_all)
{
	struct lms_dropout d;
	tu_dropout_drawn(&d, 0.0f, 3, 1000, 1);
	for (int s = 0; s < 3; s++)
		ck_assert_uint_eq(count_kept(&d, s), 1000);
	ck_assert(d.scale == 1.0f);
	lms_dropout_free(&d);
}
END_TEST

START_TEST(test_same_seed_same_masks)
{
	struct lms_dropout a, b;
	ck_assert_int_eq(lms_dropout_new(&a, 0.3f, 3, 777), LMS_OK);
	ck_assert_int_eq(lms_dropout_new(&b, 0.3f, 3, 777), LMS_OK);
	struct lms_rng g, h;
	lms_rng_seed(&g, 42);
	lms_rng_seed(&h, 42);
	lms_dropout_draw(&a, &g);
	lms_dropout_draw(&b, &h);
	ck_assert(memcmp(a.bits, b.bits, 3 * a.words * sizeof *a.bits) == 0);
	/* and the sites differ from each other */
	ck_assert(memcmp(a.bits, a.bits + a.words, a.words * sizeof *a.bits) != 0);
	lms_rng_seed(&h, 43);
	lms_dropout_draw(&b, &h);
	ck_assert(memcmp(a.bits, b.bits, 3 * a.words * sizeof *a.bits) != 0);
	lms_dropout_free(&a);
	lms_dropout_free(&b);
}
END_TEST

/* Unit first + i of the mask, kept: x * 1 / (1 - p); dropped: 0. At p =
 * 0.75 the scale is exactly 4. */
START_TEST(test_forward_backward)
{
	struct lms_dropout d;
	tu_dropout_drawn(&d, 0.75f, 1, 200, 3);
	ck_assert(d.scale == 4.0f);
	const uint64_t *mask = lms_dropout_mask(&d, 0);
	float x[50], y[50], dx[50];
	for (int i = 0; i < 50; i++)
		x[i] = 0.5f + (float)i;
	size_t first = 70;
	lms_dropout_forward(y, x, mask, first, 50, d.scale);
	lms_dropout_backward(dx, x, mask, first, 50, d.scale);
	int kept = 0;
	for (int i = 0; i < 50; i++) {
		int k = (int)(mask[(first + i) / 64] >> ((first + i) % 64) & 1);
		kept += k;
		ck_assert(y[i] == (k ? 4.0f * x[i] : 0.0f));
		ck_assert(dx[i] == y[i]);
	}
	ck_assert_int_gt(kept, 0);
	ck_assert_int_lt(kept, 50);
	/* in place */
	lms_dropout_forward(x, x, mask, first, 50, d.scale);
	ck_assert(memcmp(x, y, sizeof x) == 0);
	lms_dropout_free(&d);
}
END_TEST

START_TEST(test_refuses_p)
{
	struct lms_dropout d;
	ck_assert_int_eq(lms_dropout_new(&d, 1.0f, 1, 10), LMS_EARG);
	ck_assert_ptr_null(d.bits);
	ck_assert_int_eq(lms_dropout_new(&d, -0.1f, 1, 10), LMS_EARG);
	ck_assert_int_eq(lms_dropout_new(&d, NAN, 1, 10), LMS_EARG);
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"kept_fraction", test_kept_fraction},
		{"zero_keeps_all", test_zero_keeps_all},
		{"same_seed_same_masks", test_same_seed_same_masks},
		{"forward_backward", test_forward_backward},
		{"refuses_p", test_refuses_p},
	};
	return TU_SUITE("dropout", cases, 0);
}
