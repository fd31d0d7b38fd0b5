/* AdamW, the learning-rate schedule and gradient clipping (src/engine/train/optim.c),
 * against closed forms: Adam's first bias-corrected step moves every weight
 * by lr * g / (|g| + eps); a constant gradient keeps doing so; decoupled
 * weight decay adds lr * wd * p to matrices only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "train/optim.h"

static struct lms_model *small_gpt2(void)
{
	struct lms_config c = {
		.arch = LMS_GPT2,
		.V = 7,
		.maxT = 4,
		.C = 4,
		.H = 16,
		.L = 1,
		.NH = 2,
		.KV = 2,
		.eps = 1e-5f,
		.tied = 1,
	};
	struct lms_model *m;
	ck_assert_int_eq(lms_model_create(&c, 3, &m), LMS_OK);
	return m;
}

START_TEST(test_adamw_step)
{
	struct lms_model *m = small_gpt2();
	struct lms_adamw o;
	ck_assert_int_eq(lms_adamw_new(&o, m, 0.9f, 0.95f, 1e-8f, 0.0f), LMS_OK);
	size_t n = m->n_params;
	float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g), *p0 = malloc(n * sizeof *p0);
	for (size_t i = 0; i < n; i++) {
		p[i] = p0[i] = 0.01f * (float)(i % 13) - 0.05f;
		g[i] = (i % 3 == 0 ? -1.0f : 1.0f) * (0.001f + 0.1f * (float)(i % 7));
	}
	/* three steps of the same gradient: m_hat = g, v_hat = g^2 every time */
	float lr = 0.01f;
	for (int s = 1; s <= 3; s++) {
		lms_adamw_step(&o, p, g, lr);
		for (size_t i = 0; i < n; i++) {
			double want = p0[i] - s * lr * g[i] / (fabs(g[i]) + 1e-8);
			ck_assert_msg(fabs(p[i] - want) < 1e-5, "step %d param %zu: %g vs %g", s, i, p[i],
			              want);
		}
	}
	ck_assert_int_eq(o.t, 3);
	lms_adamw_free(&o);
	free(p);
	free(g);
	free(p0);
	lms_model_free(m);
}
END_TEST

START_TEST(test_adamw_decay_mask)
{
	struct lms_model *m = small_gpt2();
	struct lms_adamw o;
	float wd = 0.5f, lr = 0.1f;
	ck_assert_int_eq(lms_adamw_new(&o, m, 0.9f, 0.95f, 1e-8f, wd), LMS_OK);
	float *p = malloc(m->n_params * sizeof *p), *g = calloc(m->n_params, sizeof *g);
	for (size_t i = 0; i < m->n_params; i++)
		p[i] = 1.0f;
	/* zero gradient: only the decay moves a weight, by lr * wd * p */
	lms_adamw_step(&o, p, g, lr);
	for (int k = 0; k < m->n_tensors; k++) {
		const struct lms_tensor *t = &m->tensors[k];
		float want = t->ndim >= 2 ? 1.0f - lr * wd : 1.0f;
		for (size_t i = 0; i < t->numel; i++)
			ck_assert_msg(fabsf(p[t->offset + i] - want) < 1e-6f, "%s: %g vs %g", t->name,
			              p[t->offset + i], want);
	}
	ck_assert_ptr_nonnull(lms_model_tensor(m, "wte.weight"));
	lms_adamw_free(&o);
	free(p);
	free(g);
	lms_model_free(m);
}
END_TEST

START_TEST(test_adamw_converges)
{
	/* minimise sum (p - c)^2 over every parameter of a model-sized vector */
	struct lms_model *m = small_gpt2();
	struct lms_adamw o;
	ck_assert_int_eq(lms_adamw_new(&o, m, 0.9f, 0.999f, 1e-8f, 0.0f), LMS_OK);
	size_t n = m->n_params;
	float *p = calloc(n, sizeof *p), *g = malloc(n * sizeof *g);
	for (int s = 0; s < 2000; s++) {
		for (size_t i = 0; i < n; i++)
			g[i] = 2.0f * (p[i] - (float)(i % 5) * 0.3f);
		lms_adamw_step(&o, p, g, (float)lms_lr_at(s, 2000, 50, 0.05, 0.01));
	}
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(fabsf(p[i] - (float)(i % 5) * 0.3f) < 1e-2f, "param %zu = %g", i, p[i]);
	lms_adamw_free(&o);
	free(p);
	free(g);
	lms_model_free(m);
}
END_TEST

START_TEST(test_clip_grad_norm)
{
	float g[4] = {3, 0, 4, 0};
	ck_assert(fabs(lms_clip_grad_norm(g, 4, 0.0) - 5.0) < 1e-9); /* 0: measure only */
	ck_assert(g[0] == 3 && g[2] == 4);
	ck_assert(fabs(lms_clip_grad_norm(g, 4, 10.0) - 5.0) < 1e-9); /* below the limit */
	ck_assert(g[0] == 3 && g[2] == 4);
	ck_assert(fabs(lms_clip_grad_norm(g, 4, 1.0) - 5.0) < 1e-9);
	ck_assert(fabsf(g[0] - 0.6f) < 1e-6f && fabsf(g[2] - 0.8f) < 1e-6f && g[1] == 0);
	float bad[2] = {NAN, 1};
	ck_assert(isnan(lms_clip_grad_norm(bad, 2, 1.0)));
	/* a length past the partial sums' lanes with a tail (1003 = 125 * 8 + 3):
	 * the norm against a long double sum of the squares */
	enum { NG = 1003 };
	float *x = malloc(NG * sizeof *x);
	long double ss = 0.0L;
	for (int i = 0; i < NG; i++) {
		x[i] = (float)((i * 37 % 101) - 50) / 7.0f;
		ss += (long double)x[i] * x[i];
	}
	ck_assert(fabs(lms_clip_grad_norm(x, NG, 0.0) - (double)sqrtl(ss)) < 1e-9 * (double)sqrtl(ss));
	free(x);
}
END_TEST

START_TEST(test_lr_at)
{
	double lr = 1e-3, mf = 0.1;
	long total = 1000, warm = 100;
	ck_assert(fabs(lms_lr_at(0, total, warm, lr, mf) - lr / 100) < 1e-12);
	ck_assert(fabs(lms_lr_at(49, total, warm, lr, mf) - lr / 2) < 1e-12);
	ck_assert(fabs(lms_lr_at(99, total, warm, lr, mf) - lr) < 1e-12);
	ck_assert(fabs(lms_lr_at(100, total, warm, lr, mf) - lr) < 1e-12);
	ck_assert(fabs(lms_lr_at(999, total, warm, lr, mf) - lr * mf) < 1e-12);
	long span = total - warm - 1; /* 899 updates of decay: p = 0.5 at 100 + 449.5 */
	double a = lms_lr_at(100 + span / 2, total, warm, lr, mf);
	double want = lr * (mf + (1 - mf) * 0.5 * (1 + cos(M_PI * (double)(span / 2) / span)));
	ck_assert(fabs(a - want) < 1e-12);
	ck_assert(fabs(a - lr * (1 + mf) / 2) < 2e-6);
	/* monotone decay after the warm-up */
	for (long s = warm; s + 1 < total; s++)
		ck_assert(lms_lr_at(s + 1, total, warm, lr, mf) <= lms_lr_at(s, total, warm, lr, mf));
}
END_TEST

Suite *lms_test_suite(void)
{
	Suite *s = suite_create("optim");
	TCase *t;
	t = tcase_create("adamw_step");
	tcase_add_test(t, test_adamw_step);
	tcase_add_test(t, test_adamw_decay_mask);
	tcase_add_test(t, test_adamw_converges);
	suite_add_tcase(s, t);
	t = tcase_create("clip_grad_norm");
	tcase_add_test(t, test_clip_grad_norm);
	suite_add_tcase(s, t);
	t = tcase_create("lr_at");
	tcase_add_test(t, test_lr_at);
	suite_add_tcase(s, t);
	return s;
}
