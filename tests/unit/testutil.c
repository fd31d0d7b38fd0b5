/* Finite-difference gradient checks over whole models (see testutil.h). The
 * objective is recomputed in float32 by the engine itself; central
 * differences with eps ~1e-2 on small, well-scaled models keep truncation
 * and rounding error near 1e-3 relative, which is the tolerance used. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "arch/arch.h"
#include "nn/dropout.h"
#include "testutil.h"

void tu_fill_normal(float *x, size_t n, float scale, struct lms_rng *g)
{
	for (size_t i = 0; i < n; i++)
		x[i] = scale * lms_rng_normal(g);
}

struct lms_model *tu_gpt2(int V, int maxT, int C, int L, int NH, unsigned seed)
{
	struct lms_config c = {.arch = LMS_GPT2,
	                       .V = V,
	                       .maxT = maxT,
	                       .C = C,
	                       .H = 4 * C,
	                       .L = L,
	                       .NH = NH,
	                       .KV = NH,
	                       .eps = 1e-5f,
	                       .tied = 1};
	struct lms_model *m = NULL;
	ck_assert_int_eq(lms_model_create(&c, seed, &m), LMS_OK);
	return m;
}

void tu_dropout_drawn(struct lms_dropout *d, float p, int sites, size_t n, unsigned seed)
{
	ck_assert_int_eq(lms_dropout_new(d, p, sites, n), LMS_OK);
	struct lms_rng g;
	lms_rng_seed(&g, seed);
	lms_dropout_draw(d, &g);
}

void tu_widen(struct lms_model *m, float scale, unsigned seed)
{
	struct lms_rng g;
	lms_rng_seed(&g, seed);
	for (int i = 0; i < m->n_tensors; i++)
		if (m->tensors[i].ndim == 2)
			tu_fill_normal(m->params + m->tensors[i].offset, m->tensors[i].numel, scale, &g);
}

void tu_zero_block_outputs(struct lms_model *m)
{
	const char *zero[] = {"attn.c_proj.weight", "attn.c_proj.bias", "mlp.c_proj.weight",
	                      "mlp.c_proj.bias"};
	char name[64];
	for (int l = 0; l < m->cfg.L; l++)
		for (int i = 0; i < 4; i++) {
			snprintf(name, sizeof name, "h.%d.%s", l, zero[i]);
			const struct lms_tensor *t = lms_model_tensor(m, name);
			ck_assert_ptr_nonnull(t);
			memset(m->params + t->offset, 0, t->numel * sizeof(float));
		}
}

double tu_max_rel_err(const float *a, const float *b, size_t n, double floor)
{
	double worst = 0.0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]);
		double s = fmax(floor, fmax(fabs(a[i]), fabs(b[i])));
		if (d / s > worst)
			worst = d / s;
	}
	return worst;
}

/* Relative error of one gradient entry. Float32 central differences carry
 * an absolute error of roughly 1e-4 of the largest gradient entry (rounding
 * of f over 2 eps, and eps^2 truncation), whatever BLAS kernel runs; so an
 * entry is judged relative to at least 1% of the largest entry of its
 * gradient (scale). A real bug (a missing term, a wrong sign or index)
 * moves the large entries by O(1) and still fails. */
static double rel(double a, double b, double abs_tol, double scale)
{
	double d = fabs(a - b);
	if (d < abs_tol)
		return 0.0;
	return d / fmax(fmax(fabs(a), fabs(b)), scale);
}

static double max_abs(const float *x, size_t n)
{
	double m = 0.0;
	for (size_t i = 0; i < n; i++)
		m = fmax(m, fabs(x[i]));
	return m;
}

static double xent_value(struct lms_run *r, const int *targets, int T)
{
	lms_forward(r, 0, T);
	return lms_objective_xent(r, targets, 0);
}

double tu_gradcheck_xent(struct lms_model *m, int B, int T, int samples, unsigned seed, double eps,
                         double abs_tol)
{
	return tu_gradcheck_xent_drop(m, B, T, samples, seed, eps, abs_tol, NULL);
}

double tu_gradcheck_xent_drop(struct lms_model *m, int B, int T, int samples, unsigned seed,
                              double eps, double abs_tol, const struct lms_dropout *drop)
{
	struct lms_rng g;
	lms_rng_seed(&g, seed);
	int V = m->cfg.V, C = m->cfg.C;
	int *ids = malloc(sizeof(int) * B * T), *tg = malloc(sizeof(int) * B * T);
	for (int i = 0; i < B * T; i++)
		ids[i] = (int)lms_rng_below(&g, V);
	for (int i = 0; i < B * T; i++)
		tg[i] = (i % T == T - 1) ? (int)lms_rng_below(&g, V) : ids[i + 1];
	struct lms_run *r;
	if (lms_run_new(m, B, T, &r) || lms_model_grads(m))
		abort();
	r->drop = drop;
	lms_model_zero_grads(m);
	lms_embed(r, ids, T);
	xent_value(r, tg, T);
	lms_objective_xent(r, tg, LMS_GRAD_PARAMS | LMS_GRAD_INPUT);
	lms_backward(r, LMS_GRAD_PARAMS | LMS_GRAD_INPUT);
	double worst = 0.0;
	double gscale = 1e-2 * max_abs(m->grads, m->n_params);
	/* parameters: a few entries of every tensor */
	int per = samples / m->n_tensors + 1;
	for (int ti = 0; ti < m->n_tensors; ti++) {
		const struct lms_tensor *t = &m->tensors[ti];
		for (int s = 0; s < per; s++) {
			size_t i = t->offset + lms_rng_below(&g, t->numel);
			float keep = m->params[i];
			m->params[i] = keep + (float)eps;
			lms_embed(r, ids, T);
			double fp = xent_value(r, tg, T);
			m->params[i] = keep - (float)eps;
			lms_embed(r, ids, T);
			double fm = xent_value(r, tg, T);
			m->params[i] = keep;
			double e = rel((fp - fm) / (2 * eps), m->grads[i], abs_tol, gscale);
			if (e > worst)
				worst = e;
		}
	}
	/* inputs: every embedding entry of a handful of positions */
	lms_embed(r, ids, T);
	xent_value(r, tg, T);
	lms_objective_xent(r, tg, LMS_GRAD_INPUT);
	lms_backward(r, LMS_GRAD_INPUT);
	float *demb = malloc(sizeof(float) * (size_t)r->B * r->T * C);
	memcpy(demb, r->demb, sizeof(float) * (size_t)r->B * r->T * C);
	double escale = 1e-2 * max_abs(demb, (size_t)r->B * r->T * C);
	for (int s = 0; s < samples; s++) {
		int b = (int)lms_rng_below(&g, B), t = (int)lms_rng_below(&g, T),
			k = (int)lms_rng_below(&g, C);
		size_t i = ((size_t)b * r->T + t) * C + k;
		lms_embed(r, ids, T);
		float keep = r->emb[i];
		r->emb[i] = keep + (float)eps;
		double fp = xent_value(r, tg, T);
		lms_embed(r, ids, T);
		r->emb[i] = keep - (float)eps;
		double fm = xent_value(r, tg, T);
		double e = rel((fp - fm) / (2 * eps), demb[i], abs_tol, escale);
		if (e > worst)
			worst = e;
	}
	free(demb);
	free(ids);
	free(tg);
	lms_run_free(r);
	return worst;
}

double tu_gradcheck_logprob(struct lms_model *m, int T, int target, int contrast, unsigned seed,
                            double eps, double abs_tol)
{
	struct lms_rng g;
	lms_rng_seed(&g, seed);
	int C = m->cfg.C;
	int *ids = malloc(sizeof(int) * T);
	for (int i = 0; i < T; i++)
		ids[i] = (int)lms_rng_below(&g, m->cfg.V);
	struct lms_run *r;
	if (lms_run_new(m, 1, T, &r))
		abort();
	lms_embed(r, ids, T);
	lms_forward(r, 0, T);
	lms_objective_logprob(r, 0, T - 1, target, contrast, LMS_GRAD_INPUT);
	lms_backward(r, LMS_GRAD_INPUT);
	float *demb = malloc(sizeof(float) * (size_t)T * C);
	memcpy(demb, r->demb, sizeof(float) * (size_t)T * C);
	double escale = 1e-2 * max_abs(demb, (size_t)T * C);
	double worst = 0.0;
	for (int t = 0; t < T; t++)
		for (int k = 0; k < C; k += 1 + C / 8) {
			size_t i = (size_t)t * C + k;
			double f[2];
			for (int side = 0; side < 2; side++) {
				lms_embed(r, ids, T);
				r->emb[i] += side ? -(float)eps : (float)eps;
				lms_forward(r, 0, T);
				f[side] = lms_objective_logprob(r, 0, T - 1, target, contrast, 0);
			}
			double e = rel((f[0] - f[1]) / (2 * eps), demb[i], abs_tol, escale);
			if (e > worst)
				worst = e;
		}
	free(demb);
	free(ids);
	lms_run_free(r);
	return worst;
}

Suite *tu_suite(const char *name, const struct tu_case *cases, size_t n, int dir)
{
	Suite *s = suite_create(name);
	for (size_t i = 0; i < n; i++) {
		TCase *tc = tcase_create(cases[i].name);
		if (dir)
			tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}

void tu_dropout_sites_matter(struct lms_model *m, int B, int T, struct lms_dropout *d)
{
	int *ids = malloc(sizeof(int) * B * T), *tg = malloc(sizeof(int) * B * T);
	for (int i = 0; i < B * T; i++) {
		ids[i] = (i * 7 + 3) % m->cfg.V;
		tg[i] = (i * 5 + 1) % m->cfg.V;
	}
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, B, T, &r), LMS_OK);
	r->drop = d;
	lms_embed(r, ids, T);
	lms_forward(r, 0, T);
	double with = lms_objective_xent(r, tg, 0);
	uint64_t *keep = malloc(d->words * sizeof *keep);
	for (int s = 0; s < d->sites; s++) {
		uint64_t *mask = d->bits + (size_t)s * d->words;
		memcpy(keep, mask, d->words * sizeof *keep);
		memset(mask, 0xff, d->words * sizeof *mask);
		lms_embed(r, ids, T);
		lms_forward(r, 0, T);
		double without = lms_objective_xent(r, tg, 0);
		ck_assert_msg(fabs(with - without) > 1e-4, "site %d: loss %g either way", s, with);
		memcpy(mask, keep, d->words * sizeof *keep);
	}
	free(keep);
	lms_run_free(r);
	free(ids);
	free(tg);
}

void tu_dropout_zero_bitwise(struct lms_model *m, const struct lms_arch_ops *ops, int B, int T)
{
	int C = m->cfg.C, width, sites = ops->dropout_sites(&m->cfg, &width);
	size_t nemb = (size_t)B * T * C;
	ck_assert_int_eq(lms_model_grads(m), LMS_OK);
	struct lms_dropout d;
	tu_dropout_drawn(&d, 0.0f, sites, (size_t)B * T * width, 1);
	int *ids = malloc(sizeof(int) * B * T), *tg = malloc(sizeof(int) * B * T);
	for (int i = 0; i < B * T; i++) {
		ids[i] = (i * 3 + 1) % m->cfg.V;
		tg[i] = (i * 5 + 2) % m->cfg.V;
	}
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, B, T, &r), LMS_OK);
	float *grads[2], *demb[2];
	double loss[2];
	for (int k = 0; k < 2; k++) {
		r->drop = k ? &d : NULL;
		lms_model_zero_grads(m);
		lms_embed(r, ids, T);
		lms_forward(r, 0, T);
		loss[k] = lms_objective_xent(r, tg, LMS_GRAD_PARAMS | LMS_GRAD_INPUT);
		lms_backward(r, LMS_GRAD_PARAMS | LMS_GRAD_INPUT);
		grads[k] = malloc(m->n_params * sizeof(float));
		demb[k] = malloc(nemb * sizeof(float));
		memcpy(grads[k], m->grads, m->n_params * sizeof(float));
		memcpy(demb[k], r->demb, nemb * sizeof(float));
	}
	ck_assert(memcmp(&loss[0], &loss[1], sizeof loss[0]) == 0);
	ck_assert(memcmp(grads[0], grads[1], m->n_params * sizeof(float)) == 0);
	ck_assert(memcmp(demb[0], demb[1], nemb * sizeof(float)) == 0);
	for (int k = 0; k < 2; k++) {
		free(grads[k]);
		free(demb[k]);
	}
	lms_run_free(r);
	lms_dropout_free(&d);
	free(ids);
	free(tg);
}
