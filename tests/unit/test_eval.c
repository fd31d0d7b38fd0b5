/* Evaluation (src/engine/train/eval.c) and the validation loss of training
 * (lms_stream_xent, the same loop) against a naive oracle: every
 * target scored on its own with lms_objective_logprob, from a fresh B = 1
 * forward over exactly the context the window rule gives it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "lmscope/eval.h"
#include "lmscope/train.h"
#include "lmscope/status.h"
#include "nn/blas.h"
#include "testutil.h"

static struct lms_model *model(enum lms_arch arch)
{
	struct lms_config c = {
		.arch = arch,
		.V = 13,
		.maxT = 8,
		.C = 8,
		.H = arch == LMS_GPT2 ? 32 : 8,
		.L = 2,
		.NH = arch == LMS_GPT2 ? 2 : 0,
		.KV = arch == LMS_GPT2 ? 2 : 0,
		.eps = 1e-5f,
		.tied = arch == LMS_GPT2,
	};
	struct lms_model *m;
	ck_assert_int_eq(lms_model_create(&c, 5, &m), LMS_OK);
	/* weights of order one so predictions depend strongly on the context */
	struct lms_rng g;
	lms_rng_seed(&g, 9);
	tu_fill_normal(m->params, m->n_params, 0.5f, &g);
	return m;
}

/* -log p(ids[j] | ids[start .. j-1]) from its own forward. */
static double nll_at(const struct lms_model *m, const int *ids, size_t start, size_t j)
{
	struct lms_run *r;
	int len = (int)(j - start);
	ck_assert_int_eq(lms_run_new(m, 1, len, &r), LMS_OK);
	ck_assert_int_eq(lms_embed(r, ids + start, len), LMS_OK);
	lms_forward(r, 0, len);
	double lp = lms_objective_logprob(r, 0, len - 1, ids[j], -1, 0);
	lms_run_free(r);
	return -lp;
}

static void check_eval(enum lms_arch arch)
{
	struct lms_model *m = model(arch);
	enum { N = 37, T = 8 };
	int ids[N];
	for (int i = 0; i < N; i++)
		ids[i] = (i * 7 + i / 3) % 13;
	for (int stride = 1; stride < T; stride += 2) {
		/* the oracle: target j is scored by the first window (starting at a
		 * multiple of stride) that reaches it, with the context from there */
		double want = 0.0;
		for (size_t j = 1; j < N; j++) {
			size_t k = j + 1 > (size_t)T ? (j + 1 - T + stride - 1) / stride : 0;
			want += nll_at(m, ids, k * stride, j);
		}
		struct lms_run *r;
		ck_assert_int_eq(lms_run_new(m, 3, T, &r), LMS_OK);
		struct lms_eval acc = {0};
		ck_assert_int_eq(lms_eval_stream(r, ids, N, stride, &acc, NULL, NULL), LMS_OK);
		ck_assert_uint_eq(acc.targets, N - 1);
		ck_assert_msg(fabs(acc.nll - want) < 1e-4 * want, "stride %d: %.6f vs %.6f", stride,
		              acc.nll, want);
		lms_run_free(r);
	}
	/* a stream shorter than the context: one window of its own length */
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 2, T, &r), LMS_OK);
	struct lms_eval acc = {0};
	ck_assert_int_eq(lms_eval_stream(r, ids, 5, 0, &acc, NULL, NULL), LMS_OK);
	double want = 0.0;
	for (size_t j = 1; j < 5; j++)
		want += nll_at(m, ids, 0, j);
	ck_assert_uint_eq(acc.targets, 4);
	ck_assert(fabs(acc.nll - want) < 1e-4 * want);
	/* nothing to predict */
	struct lms_eval none = {0};
	ck_assert_int_eq(lms_eval_stream(r, ids, 1, 0, &none, NULL, NULL), LMS_OK);
	ck_assert_uint_eq(none.targets, 0);
	lms_run_free(r);
	lms_model_free(m);
}

START_TEST(test_eval_stream_gpt2)
{
	check_eval(LMS_GPT2);
}
END_TEST

START_TEST(test_eval_stream_lstm)
{
	check_eval(LMS_LSTM);
}
END_TEST

struct progress {
	size_t calls, last;
	int ordered; /* every call's done above the last, none past the total */
};

static void on_progress(void *ud, size_t done, size_t total)
{
	struct progress *p = ud;
	p->ordered &= done > p->last && done <= total;
	p->last = done;
	p->calls++;
}

/* The same checks with two cores, where batches go two at a time, each on
 * a run of its own (eval.c pair_part): the oracle's sums again, and the
 * same sums bit for bit as on one thread (each batch's products on one
 * thread either way, accumulated in order). The stream must have been
 * split, or the check would not see the pairs. */
static void check_eval_two_cores(enum lms_arch arch)
{
	lms_set_threads_by_size(2);
	long splits = lms_split_count();
	check_eval(arch);
	ck_assert_int_gt(lms_split_count(), splits);
	struct lms_model *m = model(arch);
	int ids[61];
	for (int i = 0; i < 61; i++)
		ids[i] = (i * 5 + i / 4) % 13;
	struct lms_eval acc[2] = {{0}};
	for (int k = 0; k < 2; k++) {
		if (k == 0)
			lms_set_threads(1);
		else
			lms_set_threads_by_size(2);
		struct lms_run *r;
		ck_assert_int_eq(lms_run_new(m, 2, 8, &r), LMS_OK);
		ck_assert_int_eq(lms_eval_stream(r, ids, 61, 3, &acc[k], NULL, NULL), LMS_OK);
		lms_run_free(r);
	}
	ck_assert_uint_eq(acc[0].targets, acc[1].targets);
	ck_assert(acc[0].nll == acc[1].nll);
	/* progress: once per window with one window per batch, in order */
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 1, 8, &r), LMS_OK);
	struct progress pr = {0, 0, 1};
	struct lms_eval acc1 = {0};
	ck_assert_int_eq(lms_eval_stream(r, ids, 61, 3, &acc1, on_progress, &pr), LMS_OK);
	ck_assert_uint_eq(pr.calls, lms_eval_windows(61, 8, 3));
	ck_assert_uint_eq(pr.last, 60);
	ck_assert(pr.ordered);
	lms_run_free(r);
	lms_model_free(m);
}

START_TEST(test_eval_two_cores_gpt2)
{
	check_eval_two_cores(LMS_GPT2);
}
END_TEST

START_TEST(test_eval_two_cores_lstm)
{
	check_eval_two_cores(LMS_LSTM);
}
END_TEST

static void count_batch(void *ud, size_t done, size_t total)
{
	(void)done;
	(void)total;
	++*(size_t *)ud;
}

/* lms_eval_windows against the stream itself: with one row per batch, the
 * callback runs once per window. */
START_TEST(test_eval_windows)
{
	struct lms_model *m = model(LMS_GPT2);
	int ids[40];
	for (int i = 0; i < 40; i++)
		ids[i] = i % 13;
	for (int T = 2; T <= 8; T++) {
		struct lms_run *r;
		ck_assert_int_eq(lms_run_new(m, 1, T, &r), LMS_OK);
		for (int stride = 0; stride < T; stride++)
			for (size_t n = 0; n <= 40; n++) {
				struct lms_eval acc = {0};
				size_t calls = 0;
				ck_assert_int_eq(lms_eval_stream(r, ids, n, stride, &acc, count_batch, &calls),
				                 LMS_OK);
				ck_assert_msg(lms_eval_windows(n, T, stride) == calls,
				              "n %zu T %d stride %d: %zu, not %zu", n, T, stride,
				              lms_eval_windows(n, T, stride), calls);
			}
		lms_run_free(r);
	}
	lms_model_free(m);
}
END_TEST

START_TEST(test_stream_xent)
{
	struct lms_model *m = model(LMS_GPT2);
	enum { N = 30, T = 8 };
	int ids[N];
	for (int i = 0; i < N; i++)
		ids[i] = (i * 5 + 3) % 13;
	/* windows of T + 1 tokens every T: targets 1..8 from 0, 9..16 from 8, ... */
	double want = 0.0;
	for (size_t j = 1; j < N; j++)
		want += nll_at(m, ids, (j - 1) / T * T, j);
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 2, T, &r), LMS_OK);
	size_t count;
	double got = lms_stream_xent(r, ids, N, 0, &count);
	ck_assert_uint_eq(count, N - 1);
	ck_assert_msg(fabs(got - want / (N - 1)) < 1e-5, "%.6f vs %.6f", got, want / (N - 1));
	/* a cap on the targets */
	double capped = lms_stream_xent(r, ids, N, 5, &count);
	ck_assert_uint_eq(count, 5);
	double w5 = 0.0;
	for (size_t j = 1; j <= 5; j++)
		w5 += nll_at(m, ids, 0, j);
	ck_assert(fabs(capped - w5 / 5) < 1e-5);
	lms_run_free(r);
	lms_model_free(m);
}
END_TEST

Suite *lms_test_suite(void)
{
	Suite *s = suite_create("eval");
	TCase *t = tcase_create("eval_stream");
	tcase_add_test(t, test_eval_stream_gpt2);
	tcase_add_test(t, test_eval_stream_lstm);
	tcase_add_test(t, test_eval_windows);
	tcase_add_test(t, test_eval_two_cores_gpt2);
	tcase_add_test(t, test_eval_two_cores_lstm);
	suite_add_tcase(s, t);
	t = tcase_create("stream_xent");
	tcase_add_test(t, test_stream_xent);
	suite_add_tcase(s, t);
	return s;
}
