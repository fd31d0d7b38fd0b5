/* logits.c: log-sum-exp against long-double sums and a shift that would
 * overflow exp, top-k against a full stable sort written here, with ties. */
#include <math.h>
#include <stdlib.h>

#include <check.h>

#include "lmscope/logits.h"
#include "lmscope/rng.h"
#include "testutil.h"

START_TEST(test_logsumexp)
{
	struct lms_rng g;
	lms_rng_seed(&g, 3);
	float x[1000];
	for (int n = 1; n <= 1000; n *= 10) {
		tu_fill_normal(x, (size_t)n, 5.0f, &g);
		long double s = 0.0L;
		for (int i = 0; i < n; i++)
			s += expl((long double)x[i]);
		ck_assert_double_eq_tol(lms_logsumexp(x, n), (double)logl(s), 1e-6);
	}
	/* exp(1000) overflows: the shift by the maximum keeps it finite */
	float big[3] = {1000.0f, 1000.0f, -1000.0f};
	ck_assert_double_eq_tol(lms_logsumexp(big, 3), 1000.0 + log(2.0), 1e-9);
	/* the maximum in the tail past the 16 lanes, then inside them: log(e^40 +
	 * 36 e^0) either way (36 zeros beside one 40) */
	float z[37] = {0};
	z[36] = 40.0f;
	ck_assert_double_eq_tol(lms_logsumexp(z, 37), 40.0 + log1p(36.0 * exp(-40.0)), 1e-9);
	z[36] = 0.0f;
	z[5] = 40.0f;
	ck_assert_double_eq_tol(lms_logsumexp(z, 37), 40.0 + log1p(36.0 * exp(-40.0)), 1e-9);
	float one = -7.5f;
	ck_assert_double_eq(lms_logsumexp(&one, 1), -7.5);
}
END_TEST

static const float *key;

/* descending by value, ties by ascending index */
static int by_key(const void *a, const void *b)
{
	int i = *(const int *)a, j = *(const int *)b;
	if (key[i] != key[j])
		return key[i] > key[j] ? -1 : 1;
	return i - j;
}

START_TEST(test_top_k)
{
	struct lms_rng g;
	lms_rng_seed(&g, 4);
	enum { N = 200 };
	float x[N], val[N];
	int id[N], want[N];
	for (int round = 0; round < 20; round++) {
		int n = 1 + (int)lms_rng_below(&g, N);
		for (int i = 0; i < n; i++) /* few distinct values: many ties */
			x[i] = (float)lms_rng_below(&g, round % 2 ? 5 : 1000) - 2.0f;
		for (int i = 0; i < n; i++)
			want[i] = i;
		key = x;
		qsort(want, (size_t)n, sizeof *want, by_key);
		int ks[] = {1, 2, 7, n / 2, n, n + 3};
		for (size_t q = 0; q < sizeof ks / sizeof *ks; q++) {
			int k = ks[q];
			if (k < 1)
				continue;
			int got = lms_top_k(x, n, k, id, val);
			ck_assert_int_eq(got, k < n ? k : n);
			for (int i = 0; i < got; i++) {
				ck_assert_msg(id[i] == want[i], "n %d k %d: rank %d is %d, want %d", n, k, i, id[i],
				              want[i]);
				ck_assert(val[i] == x[want[i]]);
			}
		}
	}
	ck_assert_int_eq(lms_top_k(x, 5, 0, id, NULL), 0);
}
END_TEST

Suite *lms_test_suite(void)
{
	Suite *s = suite_create("logits");
	TCase *tc = tcase_create("logsumexp");
	tcase_add_test(tc, test_logsumexp);
	suite_add_tcase(s, tc);
	tc = tcase_create("top_k");
	tcase_add_test(tc, test_top_k);
	suite_add_tcase(s, tc);
	return s;
}
