/* Permutation importance (src/engine/attr/importance.c). Oracles: a model whose
 * prediction reads only the last token (by construction, offset 1 is all
 * that matters and every other offset changes nothing), and the unshuffled
 * cross-entropy recomputed window by window with the plain run API. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "lmscope/attribution.h"
#include "lmscope/rng.h"
#include "testutil.h"

enum { V = 30 };

/* A GPT-2 with widened random weights whose blocks add nothing. */
static struct lms_model *last_token_only(void)
{
	struct lms_model *m = tu_gpt2(V, 16, 16, 2, 2, 3);
	tu_widen(m, 0.5f, 4);
	tu_zero_block_outputs(m);
	return m;
}

/* A stream where the next token is mostly the model's own favourite after
 * the previous one (read at position K - 1, where windows of K put it), so
 * the last token carries what the model relies on. */
static int *stream(struct lms_model *m, int n, int K, unsigned seed)
{
	int next[V], ctx[16] = {0};
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 1, K, &r), LMS_OK);
	for (int v = 0; v < V; v++) {
		ctx[K - 1] = v;
		lms_embed(r, ctx, K);
		lms_forward(r, 0, K);
		lms_logits(r, 0, K - 1, K);
		const float *x = r->logits + (size_t)(K - 1) * V;
		next[v] = 0;
		for (int k = 1; k < V; k++)
			if (x[k] > x[next[v]])
				next[v] = k;
	}
	lms_run_free(r);
	struct lms_rng g;
	lms_rng_seed(&g, seed);
	int *t = malloc(sizeof(int) * n);
	t[0] = 0;
	for (int i = 1; i < n; i++)
		t[i] = lms_rng_uniform(&g) < 0.8f ? next[t[i - 1]] : (int)lms_rng_below(&g, V);
	return t;
}

START_TEST(test_last_offset_first)
{
	struct lms_model *m = last_token_only();
	int *tok = stream(m, 300, 4, 1);
	struct lms_importance_opts o;
	lms_importance_opts_default(&o);
	o.positions = 4;
	o.repeats = 3;
	o.dim_groups = 4;
	o.batch = 16;
	struct lms_importance imp;
	ck_assert_int_eq(lms_importance_run(m, tok, 300, &o, &imp), LMS_OK);
	ck_assert_int_eq(imp.examples, 296);
	ck_assert_int_eq(imp.positions, 4);
	ck_assert(imp.offset[0].xent_rise > 0.01);
	ck_assert(imp.offset[0].ppl_rise > 0.0);
	for (int d = 2; d <= 4; d++) {
		ck_assert_msg(fabs(imp.offset[d - 1].xent_rise) < 1e-9, "offset %d: %g", d,
		              imp.offset[d - 1].xent_rise);
		ck_assert(imp.offset[d - 1].xent_sd < 1e-9);
	}
	ck_assert(imp.offset[0].xent_sd > 0.0); /* different shuffles, different rises */
	ck_assert_int_eq(imp.groups, 4);
	ck_assert_int_eq(imp.group_start[0], 0);
	ck_assert_int_eq(imp.group_start[4], 16);
	for (int q = 0; q < 4; q++)
		ck_assert(isfinite(imp.group[q].xent_rise) && imp.group[q].xent_rise != 0.0);
	lms_importance_free(&imp);
	free(tok);
	lms_model_free(m);
}
END_TEST

/* The unshuffled cross-entropy equals the mean of -log p over the windows,
 * recomputed one window at a time (stride 2 here: 40 tokens, 18 examples). */
START_TEST(test_base_xent)
{
	struct lms_model *m = last_token_only();
	int *tok = stream(m, 40, 3, 2);
	struct lms_importance_opts o;
	lms_importance_opts_default(&o);
	o.positions = 3;
	o.repeats = 1;
	o.max_examples = 18;
	o.batch = 5;
	struct lms_importance imp;
	ck_assert_int_eq(lms_importance_run(m, tok, 40, &o, &imp), LMS_OK);
	ck_assert_int_eq(imp.examples, 18);
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 1, 3, &r), LMS_OK);
	double sum = 0.0;
	for (int e = 0; e < 18; e++) {
		lms_embed(r, tok + 2 * e, 3);
		lms_forward(r, 0, 3);
		sum -= lms_objective_logprob(r, 0, 2, tok[2 * e + 3], -1, 0);
	}
	ck_assert_double_eq_tol(imp.xent, sum / 18, 1e-5);
	lms_run_free(r);
	lms_importance_free(&imp);
	free(tok);
	lms_model_free(m);
}
END_TEST

static int stop_early(void *ud, long done, long total)
{
	long *calls = ud;
	++*calls;
	ck_assert(done <= total);
	return done >= 3;
}

START_TEST(test_progress_and_errors)
{
	struct lms_model *m = last_token_only();
	int *tok = stream(m, 100, 2, 3);
	struct lms_importance_opts o;
	lms_importance_opts_default(&o);
	o.positions = 2;
	o.batch = 10;
	long calls = 0;
	o.progress = stop_early;
	o.userdata = &calls;
	struct lms_importance imp;
	ck_assert_int_eq(lms_importance_run(m, tok, 100, &o, &imp), LMS_EINTR);
	ck_assert_int_eq(calls, 3);
	ck_assert_ptr_null(imp.offset);
	o.progress = NULL;
	o.positions = 17; /* past the context */
	ck_assert_int_eq(lms_importance_run(m, tok, 100, &o, &imp), LMS_EARG);
	o.positions = 2;
	ck_assert_int_eq(lms_importance_run(m, tok, 3, &o, &imp), LMS_EARG);
	tok[5] = V;
	ck_assert_int_eq(lms_importance_run(m, tok, 100, &o, &imp), LMS_EARG);
	free(tok);
	lms_model_free(m);
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"last_offset_first", test_last_offset_first},
		{"base_xent", test_base_xent},
		{"progress_and_errors", test_progress_and_errors},
	};
	return TU_SUITE("importance", cases, 0);
}
