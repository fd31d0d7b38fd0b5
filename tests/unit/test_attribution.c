/* Attribution methods (attribution.c, integrated_gradients.c, occlusion.c,
 * lime.c, rollout.c, faithfulness.c, embgrad.c) on small random GPT-2 and
 * LSTM models. Oracles: completeness of integrated gradients, central
 * differences, direct recomputation of each occluded input with the plain
 * run API, hand-computed rollout, and a model whose prediction reads only
 * the last token (so the truth is known by construction). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "lmscope/attribution.h"
#include "lmscope/rng.h"
#include "lmscope/tokenizer.h"
#include "testutil.h"

enum { V = 40, N = 8 };

static struct lms_model *gpt2(void)
{
	struct lms_model *m = tu_gpt2(V, 16, 16, 2, 2, 5);
	/* GPT-2's 0.02 init leaves a tiny model almost constant; widen the
	 * matrices so the prediction depends on the input nonlinearly */
	tu_widen(m, 0.25f, 11);
	return m;
}

static struct lms_model *lstm(void)
{
	struct lms_config c = {.arch = LMS_LSTM, .V = V, .maxT = 16, .C = 12, .H = 16, .L = 2};
	struct lms_model *m;
	ck_assert_int_eq(lms_model_create(&c, 6, &m), LMS_OK);
	/* larger weights than PyTorch's init, for a prediction that moves */
	tu_widen(m, 0.5f, 12);
	return m;
}

/* A GPT-2 whose blocks add nothing (output projections zero): the
 * prediction is a function of the last token's embedding alone. */
static struct lms_model *last_token_only(void)
{
	struct lms_model *m = gpt2();
	tu_zero_block_outputs(m);
	return m;
}

static void random_ids(int *ids, int n, unsigned seed)
{
	struct lms_rng g;
	lms_rng_seed(&g, seed);
	for (int i = 0; i < n; i++)
		ids[i] = (int)lms_rng_below(&g, V);
}

/* f computed directly: embed ids (an id < 0 is a zero vector), forward,
 * objective; optionally position j's embedding scaled by (1 + eps). */
static double direct_f(struct lms_model *m, const int *ids, int n, int target, int contrast,
                       int scale_j, double eps)
{
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 1, n, &r), LMS_OK);
	int tmp[64];
	for (int j = 0; j < n; j++)
		tmp[j] = ids[j] < 0 ? 0 : ids[j];
	ck_assert_int_eq(lms_embed(r, tmp, n), LMS_OK);
	int C = m->cfg.C;
	for (int j = 0; j < n; j++) {
		if (ids[j] < 0)
			memset(r->emb + (size_t)j * C, 0, C * sizeof(float));
		if (j == scale_j)
			for (int k = 0; k < C; k++)
				r->emb[(size_t)j * C + k] *= (float)(1.0 + eps);
	}
	lms_forward(r, 0, n);
	double f = lms_objective_logprob(r, 0, n - 1, target, contrast, 0);
	lms_run_free(r);
	return f;
}

START_TEST(test_method_names)
{
	for (int i = 0; i < LMS_ATTR_N_METHODS; i++) {
		enum lms_attr_method mm;
		ck_assert(lms_attr_method_from_name(lms_attr_method_name(i), &mm));
		ck_assert_int_eq(mm, i);
	}
	enum lms_attr_method mm;
	ck_assert(lms_attr_method_from_name("ig", &mm) && mm == LMS_ATTR_INTEGRATED_GRADIENTS);
	ck_assert(!lms_attr_method_from_name("saliency", &mm));
	ck_assert(!lms_attr_method_supported(LMS_ATTR_ATTENTION_ROLLOUT, LMS_LSTM));
	ck_assert(lms_attr_method_supported(LMS_ATTR_ATTENTION_ROLLOUT, LMS_GPT2));
	struct lms_model *m = lstm();
	int ids[N];
	random_ids(ids, N, 1);
	float s[N];
	struct lms_attr_opts o;
	lms_attr_opts_default(&o);
	o.method = LMS_ATTR_ATTENTION_ROLLOUT;
	ck_assert_int_eq(lms_attribute(m, ids, N, 3, -1, &o, s, NULL), LMS_EUNSUPPORTED);
	o.method = LMS_ATTR_GRAD_NORM;
	ck_assert_int_eq(lms_attribute(m, ids, N, V, -1, &o, s, NULL), LMS_EARG);
	ck_assert_int_eq(lms_attribute(m, ids, N, 3, 3, &o, s, NULL), LMS_EARG);
	ck_assert_int_eq(lms_attribute(m, ids, 0, 3, -1, &o, s, NULL), LMS_EARG);
	lms_model_free(m);
}
END_TEST

/* grad_x_input_j = d/de f(e_j (1 + e)) at 0, by central differences. */
START_TEST(test_grad_x_input)
{
	struct lms_model *models[2] = {gpt2(), lstm()};
	for (int a = 0; a < 2; a++) {
		struct lms_model *m = models[a];
		int ids[N];
		random_ids(ids, N, 2 + a);
		for (int contrast = -1; contrast <= 5; contrast += 6) {
			float s[N], sn[N];
			struct lms_attr_opts o;
			lms_attr_opts_default(&o);
			o.method = LMS_ATTR_GRAD_X_INPUT;
			struct lms_attr_info info;
			ck_assert_int_eq(lms_attribute(m, ids, N, 7, contrast, &o, s, &info), LMS_OK);
			ck_assert_double_eq_tol(info.f, direct_f(m, ids, N, 7, contrast, -1, 0), 1e-5);
			o.method = LMS_ATTR_GRAD_NORM;
			ck_assert_int_eq(lms_attribute(m, ids, N, 7, contrast, &o, sn, NULL), LMS_OK);
			for (int j = 0; j < N; j++) {
				double eps = 1e-2;
				double fd = (direct_f(m, ids, N, 7, contrast, j, eps) -
				             direct_f(m, ids, N, 7, contrast, j, -eps)) /
				            (2 * eps);
				ck_assert_msg(fabs(fd - s[j]) < 2e-3 + 2e-2 * fabs(fd),
				              "arch %d pos %d: fd %g vs %g", a, j, fd, s[j]);
				/* Cauchy-Schwarz: |g . e| <= ||g|| ||e|| */
				ck_assert(sn[j] >= 0.0f);
			}
		}
		lms_model_free(m);
	}
}
END_TEST

/* Completeness with 64 steps: |sum IG - (f(x) - f(baseline))| < 1e-2. */
START_TEST(test_ig_completeness)
{
	struct lms_model *models[2] = {gpt2(), lstm()};
	for (int a = 0; a < 2; a++) {
		struct lms_model *m = models[a];
		int ids[N];
		random_ids(ids, N, 20 + a);
		for (int variant = 0; variant < 3; variant++) {
			struct lms_attr_opts o;
			lms_attr_opts_default(&o);
			o.method = LMS_ATTR_INTEGRATED_GRADIENTS;
			o.ig_steps = 64;
			o.baseline_id = variant == 1 ? 4 : -1;
			int contrast = variant == 2 ? 9 : -1;
			float s[N];
			struct lms_attr_info info;
			ck_assert_int_eq(lms_attribute(m, ids, N, 7, contrast, &o, s, &info), LMS_OK);
			ck_assert_int_eq(info.evaluations, 66);
			/* the ends against direct recomputation */
			ck_assert_double_eq_tol(info.f, direct_f(m, ids, N, 7, contrast, -1, 0), 1e-5);
			int base[N];
			for (int j = 0; j < N; j++)
				base[j] = o.baseline_id;
			ck_assert_double_eq_tol(info.f_baseline, direct_f(m, base, N, 7, contrast, -1, 0),
			                        1e-5);
			double sum = 0.0;
			for (int j = 0; j < N; j++)
				sum += s[j];
			ck_assert_double_eq_tol(info.sum, sum, 1e-6);
			ck_assert_msg(fabs(info.f - info.f_baseline) > 0.05, "arch %d: f barely moves (%g, %g)",
			              a, info.f, info.f_baseline);
			ck_assert_msg(fabs(info.gap) < 1e-2, "arch %d variant %d: gap %g (f %g, f0 %g)", a,
			              variant, info.gap, info.f, info.f_baseline);
			ck_assert_double_eq_tol(info.gap, sum - (info.f - info.f_baseline), 1e-9);
		}
		lms_model_free(m);
	}
}
END_TEST

/* The other architectures: a GRU, and a Llama whose RMSNorm makes a zero
 * baseline a kink (the norm of a vector near 0 jumps), so its baseline is a
 * token; occlusion against direct recomputation on both. */
START_TEST(test_gru_llama)
{
	struct lms_config cg = {.arch = LMS_GRU, .V = V, .maxT = 16, .C = 12, .H = 16, .L = 2};
	struct lms_config cl = {.arch = LMS_LLAMA,
	                        .V = V,
	                        .maxT = 16,
	                        .C = 16,
	                        .H = 24,
	                        .L = 2,
	                        .NH = 4,
	                        .KV = 2,
	                        .eps = 1e-5f,
	                        .rope_theta = 10000.0f};
	struct lms_config *cfgs[2] = {&cg, &cl};
	for (int a = 0; a < 2; a++) {
		struct lms_model *m;
		ck_assert_int_eq(lms_model_create(cfgs[a], 7, &m), LMS_OK);
		tu_widen(m, 0.4f, 13);
		int ids[N];
		random_ids(ids, N, 100 + a);
		struct lms_attr_opts o;
		lms_attr_opts_default(&o);
		o.method = LMS_ATTR_INTEGRATED_GRADIENTS;
		o.ig_steps = 64;
		o.baseline_id = a == 1 ? 3 : -1;
		float s[N];
		struct lms_attr_info info;
		ck_assert_int_eq(lms_attribute(m, ids, N, 7, -1, &o, s, &info), LMS_OK);
		ck_assert(fabs(info.f - info.f_baseline) > 0.05);
		ck_assert_msg(fabs(info.gap) < 1e-2, "arch %d: gap %g", a, info.gap);
		o.method = LMS_ATTR_OCCLUSION;
		o.replace_id = 2;
		ck_assert_int_eq(lms_attribute(m, ids, N, 7, -1, &o, s, &info), LMS_OK);
		double f = direct_f(m, ids, N, 7, -1, -1, 0);
		for (int j = 0; j < N; j++) {
			int var[N];
			memcpy(var, ids, sizeof var);
			var[j] = 2;
			ck_assert(fabs(s[j] - (f - direct_f(m, var, N, 7, -1, -1, 0))) < 1e-5);
		}
		lms_model_free(m);
	}
}
END_TEST

static int stop_after_two(void *ud, long done, long total)
{
	long *calls = ud;
	ck_assert(done > 0 && done <= total);
	return ++*calls >= 2;
}

/* A progress callback sees every batch and can stop a long method. */
START_TEST(test_progress_stop)
{
	struct lms_model *m = gpt2();
	int ids[N];
	random_ids(ids, N, 110);
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 4, N, &r), LMS_OK);
	enum lms_attr_method meths[] = {LMS_ATTR_INTEGRATED_GRADIENTS, LMS_ATTR_OCCLUSION,
	                                LMS_ATTR_LIME};
	for (int i = 0; i < 3; i++) {
		struct lms_attr_opts o;
		lms_attr_opts_default(&o);
		o.method = meths[i];
		o.run = r;
		o.lime_samples = 16;
		long calls = 0;
		o.progress = stop_after_two;
		o.userdata = &calls;
		float s[N];
		ck_assert_int_eq(lms_attribute(m, ids, N, 1, -1, &o, s, NULL), LMS_EINTR);
		ck_assert_int_eq(calls, 2);
	}
	lms_run_free(r);
	lms_model_free(m);
}
END_TEST

/* The same result whatever batch the caller's run offers. */
START_TEST(test_ig_batching)
{
	struct lms_model *m = gpt2();
	int ids[N];
	random_ids(ids, N, 30);
	struct lms_attr_opts o;
	lms_attr_opts_default(&o);
	o.method = LMS_ATTR_INTEGRATED_GRADIENTS;
	o.ig_steps = 10;
	float a[N], b[N];
	ck_assert_int_eq(lms_attribute(m, ids, N, 2, -1, &o, a, NULL), LMS_OK);
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 3, 16, &r), LMS_OK);
	o.run = r;
	ck_assert_int_eq(lms_attribute(m, ids, N, 2, -1, &o, b, NULL), LMS_OK);
	for (int j = 0; j < N; j++)
		ck_assert_float_eq_tol(a[j], b[j], 1e-5f * (1.0f + fabsf(a[j])));
	lms_run_free(r);
	lms_model_free(m);
}
END_TEST

/* The values and gradients of a batch of variants (one product over the
 * rows' last positions, attrwork.c) against the same method evaluated a row
 * at a time in a one-row run (a row's own pass over the unembedding), for
 * integrated gradients and lime, with and without a contrast. */
START_TEST(test_batched_rows)
{
	struct lms_model *m = gpt2();
	int ids[N];
	random_ids(ids, N, 31);
	struct lms_run *one;
	ck_assert_int_eq(lms_run_new(m, 1, N, &one), LMS_OK);
	for (int variant = 0; variant < 4; variant++) {
		struct lms_attr_opts o;
		lms_attr_opts_default(&o);
		o.method = variant < 2 ? LMS_ATTR_INTEGRATED_GRADIENTS : LMS_ATTR_LIME;
		o.ig_steps = 12;
		o.lime_samples = 40;
		int contrast = variant % 2 ? 11 : -1;
		float a[N], b[N];
		struct lms_attr_info ia, ib;
		ck_assert_int_eq(lms_attribute(m, ids, N, 3, contrast, &o, a, &ia), LMS_OK);
		o.run = one;
		ck_assert_int_eq(lms_attribute(m, ids, N, 3, contrast, &o, b, &ib), LMS_OK);
		ck_assert_double_eq_tol(ia.f, ib.f, 1e-5);
		ck_assert_double_eq_tol(ia.f, direct_f(m, ids, N, 3, contrast, -1, 0), 1e-5);
		for (int j = 0; j < N; j++)
			ck_assert_msg(fabsf(a[j] - b[j]) <= 1e-4f * (1.0f + fabsf(b[j])),
			              "variant %d pos %d: batched %g, row by row %g", variant, j, a[j], b[j]);
	}
	lms_run_free(one);
	lms_model_free(m);
}
END_TEST

START_TEST(test_occlusion)
{
	struct lms_model *models[2] = {gpt2(), lstm()};
	for (int a = 0; a < 2; a++) {
		struct lms_model *m = models[a];
		int ids[N];
		random_ids(ids, N, 40 + a);
		struct lms_run *small;
		ck_assert_int_eq(lms_run_new(m, 3, N, &small), LMS_OK);
		for (int variant = 0; variant < 4; variant++) {
			struct lms_attr_opts o;
			lms_attr_opts_default(&o);
			o.method = LMS_ATTR_OCCLUSION;
			o.replace_id = variant == 0 ? 1 : -1;
			o.occlude = variant >= 2 ? LMS_OCCLUDE_REMOVE : LMS_OCCLUDE_REPLACE;
			o.run = variant == 3 ? small : NULL;
			int contrast = variant == 1 ? 12 : -1;
			float s[N];
			struct lms_attr_info info;
			ck_assert_int_eq(lms_attribute(m, ids, N, 5, contrast, &o, s, &info), LMS_OK);
			double f = direct_f(m, ids, N, 5, contrast, -1, 0);
			ck_assert_double_eq_tol(info.f, f, 1e-5);
			for (int j = 0; j < N; j++) {
				int var[N], len = 0;
				for (int q = 0; q < N; q++) {
					if (q != j)
						var[len++] = ids[q];
					else if (o.occlude == LMS_OCCLUDE_REPLACE)
						var[len++] = o.replace_id;
				}
				double want = f - direct_f(m, var, len, 5, contrast, -1, 0);
				ck_assert_msg(fabs(s[j] - want) < 1e-5, "arch %d variant %d pos %d: %g vs %g", a,
				              variant, j, s[j], want);
			}
		}
		lms_run_free(small);
		lms_model_free(m);
	}
}
END_TEST

/* On a model that reads only the last token, every method but rollout puts
 * all weight on it: occlusion and lime find exactly f(x) - f(hidden last). */
START_TEST(test_known_by_construction)
{
	struct lms_model *m = last_token_only();
	int ids[N];
	random_ids(ids, N, 50);
	struct lms_attr_opts o;
	lms_attr_opts_default(&o);
	o.replace_id = 3;
	int hid[N];
	memcpy(hid, ids, sizeof hid);
	hid[N - 1] = 3;
	double drop = direct_f(m, ids, N, 6, -1, -1, 0) - direct_f(m, hid, N, 6, -1, -1, 0);
	ck_assert(fabs(drop) > 0.05);
	float s[N];
	struct lms_attr_info info;
	for (int meth = 0; meth < LMS_ATTR_ATTENTION_ROLLOUT; meth++) {
		o.method = meth;
		ck_assert_int_eq(lms_attribute(m, ids, N, 6, -1, &o, s, &info), LMS_OK);
		for (int j = 0; j < N - 1; j++)
			ck_assert_msg(fabsf(s[j]) < 1e-4f, "%s pos %d: %g", lms_attr_method_name(meth), j,
			              s[j]);
		ck_assert(meth == LMS_ATTR_GRAD_NORM || fabsf(s[N - 1]) > 1e-3f);
		if (meth == LMS_ATTR_OCCLUSION || meth == LMS_ATTR_LIME)
			ck_assert_msg(fabs(s[N - 1] - drop) < 0.01 * fabs(drop), "%s: %g vs %g",
			              lms_attr_method_name(meth), s[N - 1], drop);
		if (meth == LMS_ATTR_LIME) {
			ck_assert_int_eq(info.nonzero, 1);
			ck_assert(info.r2 > 0.999);
		}
	}
	lms_model_free(m);
}
END_TEST

START_TEST(test_lime_deterministic)
{
	struct lms_model *m = lstm();
	int ids[N];
	random_ids(ids, N, 60);
	struct lms_attr_opts o;
	lms_attr_opts_default(&o);
	o.method = LMS_ATTR_LIME;
	o.lime_samples = 64;
	float a[N], b[N];
	struct lms_attr_info ia, ib;
	ck_assert_int_eq(lms_attribute(m, ids, N, 2, -1, &o, a, &ia), LMS_OK);
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 5, N, &r), LMS_OK);
	o.run = r;
	ck_assert_int_eq(lms_attribute(m, ids, N, 2, -1, &o, b, &ib), LMS_OK);
	for (int j = 0; j < N; j++)
		ck_assert_float_eq_tol(a[j], b[j], 1e-4f);
	ck_assert_double_eq_tol(ia.f, direct_f(m, ids, N, 2, -1, -1, 0), 1e-5);
	ck_assert(ia.lambda > 0.0 && ia.r2 >= 0.0 && ia.r2 <= 1.0);
	lms_run_free(r);
	lms_model_free(m);
}
END_TEST

/* Two layers by hand: A0 = [[1, 0], [0.4, 0.6]], A1 = [[1, 0], [0.2, 0.8]];
 * Ahat0 = [[1, 0], [0.2, 0.8]], Ahat1 = [[1, 0], [0.1, 0.9]];
 * R = Ahat1 Ahat0 = [[1, 0], [0.1 + 0.9 * 0.2, 0.9 * 0.8]] = [[1, 0], [0.28, 0.72]]. */
START_TEST(test_rollout_by_hand)
{
	float A[8] = {1, 0, 0.4f, 0.6f, 1, 0, 0.2f, 0.8f}, R[4], work[8];
	lms_rollout(R, A, 2, 2, work);
	float want[4] = {1, 0, 0.28f, 0.72f};
	for (int i = 0; i < 4; i++)
		ck_assert_float_eq_tol(R[i], want[i], 1e-6f);
	/* three positions, one layer with unnormalised rows: renormalisation
	 * of 0.5 A + 0.5 I; row 2 = (0.5 [1, 1, 2] + [0, 0, 0.5]) / 2.5 */
	float A3[9] = {1, 0, 0, 0.5f, 0.5f, 0, 1, 1, 2}, R3[9], w3[18];
	lms_rollout(R3, A3, 1, 3, w3);
	ck_assert_float_eq_tol(R3[6], 0.2f, 1e-6f);
	ck_assert_float_eq_tol(R3[7], 0.2f, 1e-6f);
	ck_assert_float_eq_tol(R3[8], 0.6f, 1e-6f);
	ck_assert_float_eq_tol(R3[3], 0.25f, 1e-6f);
	ck_assert_float_eq_tol(R3[4], 0.75f, 1e-6f);
}
END_TEST

/* Rollout through the API equals lms_rollout of head-means taken here. */
START_TEST(test_rollout_model)
{
	struct lms_model *m = gpt2();
	int ids[N];
	random_ids(ids, N, 70);
	struct lms_attr_opts o;
	lms_attr_opts_default(&o);
	o.method = LMS_ATTR_ATTENTION_ROLLOUT;
	float s[N];
	ck_assert_int_eq(lms_attribute(m, ids, N, 1, -1, &o, s, NULL), LMS_OK);
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 1, N, &r), LMS_OK);
	lms_embed(r, ids, N);
	lms_forward(r, 0, N);
	float A[2 * N * N] = {0}, R[N * N], work[2 * N * N];
	for (int l = 0; l < 2; l++)
		for (int h = 0; h < 2; h++) {
			const float *a = lms_run_attention(r, l, h, 0);
			for (int i = 0; i < N * N; i++)
				A[l * N * N + i] += 0.5f * a[i];
		}
	lms_rollout(R, A, 2, N, work);
	double sum = 0.0;
	for (int j = 0; j < N; j++) {
		ck_assert_float_eq_tol(s[j], R[(N - 1) * N + j], 1e-6f);
		sum += s[j];
	}
	ck_assert_double_eq_tol(sum, 1.0, 1e-5);
	lms_run_free(r);
	lms_model_free(m);
}
END_TEST

START_TEST(test_deletion_curve)
{
	struct lms_model *m = gpt2();
	int ids[N];
	random_ids(ids, N, 80);
	float scores[N] = {0.1f, 0.9f, -0.3f, 0.5f, 0.5f, 0.0f, 2.0f, -1.0f};
	int order[N] = {6, 1, 3, 4, 0, 5, 2, 7}; /* decreasing, ties by position */
	for (int rm = 0; rm < 2; rm++) {
		struct lms_attr_opts o;
		lms_attr_opts_default(&o);
		o.occlude = rm ? LMS_OCCLUDE_REMOVE : LMS_OCCLUDE_REPLACE;
		o.replace_id = 2;
		float curve[N + 1];
		double area;
		ck_assert_int_eq(lms_deletion_curve(m, ids, N, 4, scores, &o, curve, &area), LMS_OK);
		double want_area = 0.0;
		for (int k = 0; k <= N; k++) {
			int var[N], len = 0;
			for (int j = 0; j < N; j++) {
				int hidden = 0;
				for (int q = 0; q < k; q++)
					hidden |= order[q] == j;
				if (!hidden)
					var[len++] = ids[j];
				else if (!rm)
					var[len++] = 2;
			}
			double p = len ? exp(direct_f(m, var, len, 4, -1, -1, 0)) : curve[N - 1];
			ck_assert_msg(fabs(curve[k] - p) < 1e-5, "removal %d, k %d: %g vs %g", rm, k, curve[k],
			              p);
			if (k)
				want_area += 0.5 * (curve[k - 1] + curve[k]) / N;
		}
		ck_assert_double_eq_tol(area, want_area, 1e-6);
	}
	lms_model_free(m);
}
END_TEST

/* The deletion curve can be abandoned between steps (removal) and between
 * batches (replacement), as the explorer drops a stale request. */
START_TEST(test_deletion_stop)
{
	struct lms_model *m = gpt2();
	int ids[N];
	random_ids(ids, N, 81);
	float scores[N] = {0.1f, 0.9f, -0.3f, 0.5f, 0.5f, 0.0f, 2.0f, -1.0f};
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 4, N, &r), LMS_OK); /* N + 1 variants: three batches */
	for (int rm = 0; rm < 2; rm++) {
		struct lms_attr_opts o;
		lms_attr_opts_default(&o);
		o.occlude = rm ? LMS_OCCLUDE_REMOVE : LMS_OCCLUDE_REPLACE;
		o.run = r;
		long calls = 0;
		o.progress = stop_after_two;
		o.userdata = &calls;
		float curve[N + 1];
		double area = -1.0;
		ck_assert_int_eq(lms_deletion_curve(m, ids, N, 4, scores, &o, curve, &area), LMS_EINTR);
		ck_assert_int_eq(calls, 2);
		ck_assert_double_eq(area, -1.0); /* no area from a partial curve */
	}
	lms_run_free(r);
	lms_model_free(m);
}
END_TEST

/* lms_faithfulness against its parts (GPT-2 and LSTM, three methods, both
 * ways of hiding): the set of methods compared follows the policy (the cheap
 * ones the architecture supports, not the method itself, none below two
 * positions), each agreement is the Spearman of the
 * scores with that method's own lms_attribute, the area lms_deletion_curve's. */
START_TEST(test_faithfulness)
{
	struct lms_model *models[2] = {gpt2(), lstm()};
	/* a method and whether hiding removes: each method once, both hidings */
	struct {
		enum lms_attr_method meth;
		int rm;
	} cases[] = {
		{LMS_ATTR_GRAD_NORM, 0}, {LMS_ATTR_OCCLUSION, 1}, {LMS_ATTR_INTEGRATED_GRADIENTS, 0}};
	for (int a = 0; a < 2; a++) {
		struct lms_model *m = models[a];
		int ids[N];
		random_ids(ids, N, 90 + a);
		for (int i = 0; i < 3; i++) {
			struct lms_attr_opts o;
			lms_attr_opts_default(&o);
			o.method = cases[i].meth;
			o.ig_steps = 4;
			o.occlude = cases[i].rm ? LMS_OCCLUDE_REMOVE : LMS_OCCLUDE_REPLACE;
			float scores[N], curve[N + 1], want_curve[N + 1], other[N];
			ck_assert_int_eq(lms_attribute(m, ids, N, 3, -1, &o, scores, NULL), LMS_OK);
			struct lms_faithfulness f;
			ck_assert_int_eq(lms_faithfulness(m, ids, N, 3, -1, scores, &o, curve, NULL, &f),
			                 LMS_OK);
			double want_area;
			ck_assert_int_eq(lms_deletion_curve(m, ids, N, 3, scores, &o, want_curve, &want_area),
			                 LMS_OK);
			ck_assert_double_eq_tol(f.area, want_area, 1e-9);
			for (int k = 0; k < LMS_ATTR_N_METHODS; k++) {
				int cheap = k == LMS_ATTR_GRAD_NORM || k == LMS_ATTR_GRAD_X_INPUT ||
				            k == LMS_ATTR_OCCLUSION || (k == LMS_ATTR_ATTENTION_ROLLOUT && a == 0);
				int want = cheap && k != (int)o.method;
				ck_assert_int_eq(lms_faith_compares(&o, k, m->cfg.arch, N), want);
				ck_assert_msg((!isnan(f.rho[k])) == want, "arch %d method %d: rho[%d] %g", a,
				              o.method, k, f.rho[k]);
				if (!want)
					continue;
				struct lms_attr_opts ok = o;
				ok.method = k;
				ck_assert_int_eq(lms_attribute(m, ids, N, 3, -1, &ok, other, NULL), LMS_OK);
				ck_assert_double_eq_tol(f.rho[k], lms_spearman(scores, other, N), 1e-12);
			}
			/* one position: nothing to rank against */
			ck_assert_int_eq(lms_faithfulness(m, ids, 1, 3, -1, scores, &o, curve, other, &f),
			                 LMS_OK);
			for (int k = 0; k < LMS_ATTR_N_METHODS; k++)
				ck_assert(isnan(f.rho[k]) && !lms_faith_compares(&o, k, m->cfg.arch, 1));
		}
		lms_model_free(m);
	}
}
END_TEST

START_TEST(test_spearman)
{
	float a[5] = {1, 2, 3, 4, 5}, b[5] = {10, 20, 30, 40, 50}, c[5] = {5, 4, 3, 2, 1};
	ck_assert_double_eq_tol(lms_spearman(a, b, 5), 1.0, 1e-12);
	ck_assert_double_eq_tol(lms_spearman(a, c, 5), -1.0, 1e-12);
	/* no ties: 1 - 6 sum d^2 / (n (n^2 - 1)); ranks of d: 2 1 4 3 5 -> sum d^2 = 4 */
	float d[5] = {0.2f, 0.1f, 0.4f, 0.3f, 0.5f};
	ck_assert_double_eq_tol(lms_spearman(a, d, 5), 1.0 - 6.0 * 4 / (5 * 24), 1e-12);
	/* ties: e's ranks are 1.5 1.5 3 4 5; Pearson with 1..5 = 0.9746794... */
	float e[5] = {7, 7, 8, 9, 10};
	ck_assert_double_eq_tol(lms_spearman(a, e, 5), 9.5 / sqrt(10.0 * 9.5), 1e-9);
	float k[5] = {1, 1, 1, 1, 1};
	ck_assert_double_eq_tol(lms_spearman(a, k, 5), 0.0, 1e-12);
}
END_TEST

/* Rows of d(-f)/dwte against the engine's own parameter backward, which
 * takes the independent route of a full weight gradient. */
START_TEST(test_embgrad)
{
	struct lms_model *models[2] = {gpt2(), lstm()};
	for (int a = 0; a < 2; a++) {
		struct lms_model *m = models[a];
		int ids[N];
		random_ids(ids, N, 90 + a);
		ids[5] = ids[1]; /* a repeated token sums its positions */
		for (int contrast = -1; contrast <= 3; contrast += 4) {
			int tokens[N + 2], k;
			float grad[(N + 2) * 16];
			ck_assert_int_eq(lms_embgrad(m, NULL, ids, N, 9, contrast, tokens, grad, &k), LMS_OK);
			ck_assert_int_le(k, N + 1 + (contrast >= 0));
			ck_assert_int_eq(tokens[0], ids[0]);
			ck_assert_int_eq(lms_model_grads(m), LMS_OK);
			lms_model_zero_grads(m);
			struct lms_run *r;
			ck_assert_int_eq(lms_run_new(m, 1, N, &r), LMS_OK);
			lms_embed(r, ids, N);
			lms_forward(r, 0, N);
			lms_objective_logprob(r, 0, N - 1, 9, contrast, LMS_GRAD_PARAMS);
			lms_backward(r, LMS_GRAD_PARAMS);
			const struct lms_tensor *wte =
				lms_model_tensor(m, a == 0 ? "wte.weight" : "embedding.weight");
			ck_assert_ptr_nonnull(wte);
			int C = m->cfg.C;
			for (int i = 0; i < k; i++)
				for (int q = 0; q < C; q++) {
					float want = -m->grads[wte->offset + (size_t)tokens[i] * C + q];
					ck_assert_msg(fabsf(grad[i * C + q] - want) < 1e-5f + 1e-4f * fabsf(want),
					              "arch %d token %d dim %d: %g vs %g", a, tokens[i], q,
					              grad[i * C + q], want);
				}
			lms_run_free(r);
		}
		lms_model_free(m);
	}
}
END_TEST

/* Every front end hides tokens the same way: by the tokenizer's <unk>, by
 * zeros when there is none. */
START_TEST(test_opts_use_tokenizer)
{
	const char *text = "the cat sat on the mat";
	size_t len = strlen(text);
	struct lms_tok_train_opts to = {LMS_TOK_WORD, 20, 1, 0, NULL, 0};
	struct lms_tokenizer *word;
	ck_assert_int_eq(lms_tokenizer_train(&to, &text, &len, 1, &word), LMS_OK);
	to.kind = LMS_TOK_BPE;
	to.vocab_size = 260;
	struct lms_tokenizer *bpe;
	ck_assert_int_eq(lms_tokenizer_train(&to, &text, &len, 1, &bpe), LMS_OK);
	ck_assert_int_ge(lms_tokenizer_unk(word), 0);
	ck_assert_int_lt(lms_tokenizer_unk(bpe), 0);
	struct lms_attr_opts o;
	lms_attr_opts_default(&o);
	lms_attr_opts_use_tokenizer(&o, word);
	ck_assert_str_eq(lms_tokenizer_piece(word, o.replace_id), "<unk>");
	o.replace_id = 3;
	lms_attr_opts_use_tokenizer(&o, bpe);
	ck_assert_int_eq(o.replace_id, -1);
	o.replace_id = 3;
	lms_attr_opts_use_tokenizer(&o, NULL);
	ck_assert_int_eq(o.replace_id, -1);
	lms_tokenizer_free(word);
	lms_tokenizer_free(bpe);
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"method_names", test_method_names},
		{"grad_x_input", test_grad_x_input},
		{"ig_completeness", test_ig_completeness},
		{"ig_batching", test_ig_batching},
		{"batched_rows", test_batched_rows},
		{"gru_llama", test_gru_llama},
		{"progress_stop", test_progress_stop},
		{"occlusion", test_occlusion},
		{"known_by_construction", test_known_by_construction},
		{"lime_deterministic", test_lime_deterministic},
		{"rollout_by_hand", test_rollout_by_hand},
		{"rollout_model", test_rollout_model},
		{"deletion_curve", test_deletion_curve},
		{"deletion_stop", test_deletion_stop},
		{"faithfulness", test_faithfulness},
		{"spearman", test_spearman},
		{"embgrad", test_embgrad},
		{"opts_use_tokenizer", test_opts_use_tokenizer},
	};
	return TU_SUITE("attribution", cases, 0);
}
