/* GPT-2 (src/engine/arch/gpt2.c): the tensor table, the initialisation,
 * gradients against central finite differences (cross-entropy over every
 * parameter and input, log-prob and contrastive objectives on the inputs),
 * prefix reuse against a full forward, and the explorer views. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "arch/arch.h"
#include "nn/dropout.h"
#include "testutil.h"

/* Tiny enough for finite differences over every tensor, big enough that
 * every op sees more than one head, layer, position and batch row. */
static struct lms_config tiny(void)
{
	struct lms_config c = {
		.arch = LMS_GPT2,
		.V = 11,
		.maxT = 8,
		.C = 8,
		.H = 32,
		.L = 2,
		.NH = 2,
		.KV = 2,
		.eps = 1e-5f,
		.tied = 1,
	};
	return c;
}

/* A tiny model with weights of order 1 (GPT-2's own init of 0.02 makes
 * every gradient tiny and the check meaningless): N(0, 0.4) everywhere,
 * LayerNorm gains near 1. */
static struct lms_model *tiny_model(unsigned seed)
{
	struct lms_config c = tiny();
	struct lms_model *m;
	ck_assert_int_eq(lms_model_create(&c, seed, &m), LMS_OK);
	struct lms_rng g;
	lms_rng_seed(&g, seed + 1);
	tu_fill_normal(m->params, m->n_params, 0.4f, &g);
	for (int i = 0; i < m->n_tensors; i++) {
		const struct lms_tensor *t = &m->tensors[i];
		if (strstr(t->name, "ln_") && strstr(t->name, ".weight"))
			for (size_t k = 0; k < t->numel; k++)
				m->params[t->offset + k] = 1.0f + 0.2f * lms_rng_normal(&g);
	}
	return m;
}

START_TEST(test_tensors)
{
	struct lms_config c = tiny();
	struct lms_model *m;
	ck_assert_int_eq(lms_model_create(&c, 1, &m), LMS_OK);
	ck_assert_int_eq(m->n_tensors, 2 + 12 * c.L + 2);
	/* packed in the listed order */
	size_t off = 0;
	for (int i = 0; i < m->n_tensors; i++) {
		ck_assert_uint_eq(m->tensors[i].offset, off);
		size_t numel = 1;
		for (int d = 0; d < m->tensors[i].ndim; d++)
			numel *= (size_t)m->tensors[i].shape[d];
		ck_assert_uint_eq(m->tensors[i].numel, numel);
		off += numel;
	}
	/* GPT-2's parameter count: embeddings, 12 C^2 + 13 C per layer (H = 4C), ln_f */
	size_t C = c.C, V = c.V, P = c.maxT, L = c.L;
	ck_assert_uint_eq(m->n_params, V * C + P * C + L * (12 * C * C + 13 * C) + 2 * C);
	ck_assert_uint_eq(lms_config_n_params(&c), m->n_params);
	ck_assert_str_eq(m->tensors[0].name, "wte.weight");
	ck_assert_str_eq(m->tensors[1].name, "wpe.weight");
	ck_assert_str_eq(m->tensors[2].name, "h.0.ln_1.weight");
	ck_assert_str_eq(m->tensors[3].name, "h.1.ln_1.weight");
	ck_assert_str_eq(m->tensors[4].name, "h.0.ln_1.bias");
	ck_assert_str_eq(m->tensors[m->n_tensors - 1].name, "ln_f.bias");
	const struct lms_tensor *t = lms_model_tensor(m, "h.1.attn.c_attn.weight");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->ndim, 2);
	ck_assert_int_eq(t->shape[0], C);
	ck_assert_int_eq(t->shape[1], 3 * C);
	t = lms_model_tensor(m, "h.0.mlp.c_proj.weight");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->shape[0], c.H);
	ck_assert_int_eq(t->shape[1], C);
	t = lms_model_tensor(m, "h.1.mlp.c_fc.bias");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->ndim, 1);
	ck_assert_int_eq(t->shape[0], c.H);
	/* the output is tied to wte */
	const struct lms_arch_ops *ops = lms_arch_ops(LMS_GPT2);
	ck_assert_uint_eq(ops->wout_offset(&c), lms_model_tensor(m, "wte.weight")->offset);
	ck_assert_uint_eq(ops->wte_offset(&c), lms_model_tensor(m, "wte.weight")->offset);
	ck_assert_int_eq(ops->bout_offset(&c), -1);
	lms_model_free(m);
}
END_TEST

START_TEST(test_init)
{
	struct lms_config c = tiny();
	c.C = 64;
	c.H = 256;
	c.L = 4;
	c.NH = c.KV = 4;
	c.V = 300;
	struct lms_model *m, *m2;
	ck_assert_int_eq(lms_model_create(&c, 9, &m), LMS_OK);
	ck_assert_int_eq(lms_model_create(&c, 9, &m2), LMS_OK);
	ck_assert_int_eq(memcmp(m->params, m2->params, m->n_params * sizeof(float)), 0);
	for (int i = 0; i < m->n_tensors; i++) {
		const struct lms_tensor *t = &m->tensors[i];
		const float *x = m->params + t->offset;
		double s = 0.0, s2 = 0.0;
		for (size_t k = 0; k < t->numel; k++) {
			s += x[k];
			s2 += (double)x[k] * x[k];
		}
		double mean = s / t->numel, sd = sqrt(s2 / t->numel - mean * mean);
		if (strstr(t->name, "ln_") && strstr(t->name, ".weight")) {
			ck_assert(mean == 1.0 && sd == 0.0);
		} else if (strstr(t->name, ".bias")) {
			ck_assert(s2 == 0.0);
		} else {
			/* residual projections are scaled by 1 / sqrt(2 L) */
			double want = strstr(t->name, "c_proj.weight") ? 0.02 / sqrt(2.0 * c.L) : 0.02;
			ck_assert_msg(fabs(sd - want) < 0.1 * want, "%s: sd %g, want %g", t->name, sd, want);
			ck_assert(fabs(mean) < 0.1 * want);
		}
	}
	lms_model_free(m);
	lms_model_free(m2);
}
END_TEST

/* Float32 objective, central differences. At eps 1e-2 truncation error
 * (eps^2 times third derivatives, which attention makes large) reached
 * 0.25 relative on some entries; at eps 5e-3 the worst relative error over
 * seven seeds was 9e-3 (cross-entropy over parameters and inputs), 5e-4
 * (log-prob) and 2e-3 (contrastive), with |fd - analytic| < 1e-4 counted
 * as agreement. A wrong term in any backward gives errors of order 1. */
#define GC_EPS 5e-3
#define GC_TOL 2e-2
#define GC_ABS 1e-4

START_TEST(test_gradcheck_xent)
{
	struct lms_model *m = tiny_model(3);
	double worst = tu_gradcheck_xent(m, 2, 5, 120, 17, GC_EPS, GC_ABS);
	ck_assert_msg(worst < GC_TOL, "worst relative error %g", worst);
	/* the full context, where the batch is one fused block of rows */
	worst = tu_gradcheck_xent(m, 2, 8, 60, 19, GC_EPS, GC_ABS);
	ck_assert_msg(worst < GC_TOL, "worst relative error %g (n == T)", worst);
	lms_model_free(m);
}
END_TEST

START_TEST(test_gradcheck_logprob)
{
	struct lms_model *m = tiny_model(4);
	double worst = tu_gradcheck_logprob(m, 6, 3, -1, 5, GC_EPS, GC_ABS);
	ck_assert_msg(worst < GC_TOL, "target: worst relative error %g", worst);
	worst = tu_gradcheck_logprob(m, 6, 3, 7, 6, GC_EPS, GC_ABS);
	ck_assert_msg(worst < GC_TOL, "contrastive: worst relative error %g", worst);
	worst = tu_gradcheck_logprob(m, 8, 0, -1, 8, GC_EPS, GC_ABS);
	ck_assert_msg(worst < GC_TOL, "full context: worst relative error %g", worst);
	lms_model_free(m);
}
END_TEST

/* One row's logits take two paths (run.c): on one thread a single pass over
 * the unembedding makes the log-normaliser and the mean row sum_k p_k w_k
 * together; split over threads, the logits come first and the mean row
 * when the objective reads it. Both must give the same log-prob and input
 * gradient, and the split path's gradient must match central differences. */
START_TEST(test_logits_two_paths)
{
	struct lms_model *m = tiny_model(4);
	int ids[6] = {1, 4, 9, 2, 2, 10};
	float demb[2][6 * 16];
	double val[2];
	for (int k = 0; k < 2; k++) {
		lms_set_threads(k ? 2 : 1);
		struct lms_run *r;
		ck_assert_int_eq(lms_run_new(m, 1, 8, &r), LMS_OK);
		ck_assert_int_le(6 * r->m->cfg.C, 6 * 16);
		lms_embed(r, ids, 6);
		lms_forward(r, 0, 6);
		lms_logits(r, 0, 5, 6);
		/* the path taken: the mean row made at once, or left for later */
		ck_assert_int_eq(r->soft_mean_ready, !k);
		val[k] = lms_objective_logprob(r, 0, 5, 3, -1, LMS_GRAD_INPUT | LMS_LOGITS_READY);
		ck_assert_int_eq(r->soft_mean_ready, 1);
		lms_backward(r, LMS_GRAD_INPUT);
		memcpy(demb[k], r->demb, (size_t)6 * m->cfg.C * sizeof(float));
		lms_run_free(r);
	}
	ck_assert_double_lt(fabs(val[0] - val[1]), 1e-5);
	ck_assert_double_lt(tu_max_rel_err(demb[0], demb[1], (size_t)6 * m->cfg.C, 1e-4), 1e-4);
	double worst = tu_gradcheck_logprob(m, 6, 3, -1, 5, GC_EPS, GC_ABS);
	ck_assert_msg(worst < GC_TOL, "split path: worst relative error %g", worst);
	lms_model_free(m);
}
END_TEST

/* Training dropout (nn/dropout.h) with fixed masks: the forward is then
 * an ordinary function of the weights and inputs, and its gradients must
 * match central differences like the plain model's. The masks must
 * change the loss, or the check would not see them. */
START_TEST(test_gradcheck_dropout)
{
	struct lms_model *m = tiny_model(5);
	int B = 2, T = 8, width, sites = lms_gpt2_ops.dropout_sites(&m->cfg, &width);
	ck_assert_int_eq(sites, 1 + 2 * m->cfg.L);
	ck_assert_int_eq(width, m->cfg.C);
	struct lms_dropout d;
	tu_dropout_drawn(&d, 0.3f, sites, (size_t)B * T * width, 21);
	double worst = tu_gradcheck_xent_drop(m, B, T, 120, 23, GC_EPS, GC_ABS, &d);
	ck_assert_msg(worst < GC_TOL, "worst relative error %g", worst);
	tu_dropout_sites_matter(m, B, T, &d);
	lms_dropout_free(&d);
	lms_model_free(m);
}
END_TEST

/* Dropout at p = 0 (every unit kept, scaled by exactly 1) is bitwise the
 * forward and backward without it: loss, parameter and input gradients. */
START_TEST(test_dropout_zero_bitwise)
{
	struct lms_model *m = tiny_model(6);
	tu_dropout_zero_bitwise(m, &lms_gpt2_ops, 2, 8);
	lms_model_free(m);
}
END_TEST

/* Without LMS_GRAD_PARAMS no parameter gradient is touched, and the input
 * gradient is the same as with it. */
START_TEST(test_input_only)
{
	struct lms_model *m = tiny_model(5);
	ck_assert_int_eq(lms_model_grads(m), LMS_OK);
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 1, 8, &r), LMS_OK);
	int ids[6] = {1, 4, 9, 2, 2, 10};
	lms_embed(r, ids, 6);
	lms_forward(r, 0, 6);
	lms_objective_logprob(r, 0, 5, 3, -1, LMS_GRAD_INPUT);
	lms_backward(r, LMS_GRAD_INPUT);
	for (size_t i = 0; i < m->n_params; i++)
		ck_assert(m->grads[i] == 0.0f);
	float demb[6 * 8];
	memcpy(demb, r->demb, sizeof demb);
	lms_objective_logprob(r, 0, 5, 3, -1, LMS_GRAD_INPUT | LMS_GRAD_PARAMS);
	lms_backward(r, LMS_GRAD_INPUT | LMS_GRAD_PARAMS);
	ck_assert_double_lt(tu_max_rel_err(demb, r->demb, 6 * 8, 1e-6), 1e-6);
	double norm = 0.0;
	for (size_t i = 0; i < m->n_params; i++)
		norm += (double)m->grads[i] * m->grads[i];
	ck_assert(norm > 0.0);
	lms_run_free(r);
	lms_model_free(m);
}
END_TEST

/* Largest |a - b| over n entries, relative to the largest |a|. */
static double scaled_err(const float *a, const float *b, size_t n)
{
	double d = 0.0, mx = 0.0;
	for (size_t i = 0; i < n; i++) {
		d = fmax(d, fabs((double)a[i] - b[i]));
		mx = fmax(mx, fabs(a[i]));
	}
	return mx > 0.0 ? d / mx : d;
}

/* Forward of [k, n) after a forward of [0, k) (or of a longer, different
 * sequence sharing the first k tokens) equals a full forward. Not always
 * bit for bit: OpenBLAS's edge kernels order a row's sums differently
 * depending on how many rows a product has, which leaves differences of
 * a float ulp or two (2e-7 of the largest entry seen); stale or missing
 * keys would show as O(1). */
#define REUSE_TOL 1e-6

START_TEST(test_prefix_reuse)
{
	struct lms_model *m = tiny_model(6);
	const struct lms_config *c = &m->cfg;
	struct lms_run *full, *inc;
	ck_assert_int_eq(lms_run_new(m, 1, 8, &full), LMS_OK);
	ck_assert_int_eq(lms_run_new(m, 1, 8, &inc), LMS_OK);
	int ids[8] = {3, 1, 4, 1, 5, 9, 2, 6}, other[8] = {3, 1, 4, 7, 7, 0, 0, 0};
	int n = 7;
	lms_embed(full, ids, n);
	lms_forward(full, 0, n);
	for (int k = 1; k < n; k++) {
		/* first a different continuation, so stale values would show */
		lms_embed(inc, other, 8);
		lms_forward(inc, 0, 8);
		lms_embed(inc, ids, k);
		lms_forward(inc, 0, k);
		lms_embed(inc, ids, n);
		lms_forward(inc, k, n);
		ck_assert_int_eq(inc->n, n);
		ck_assert_double_lt(scaled_err(full->hfin, inc->hfin, (size_t)n * c->C), REUSE_TOL);
		for (int l = 0; l < c->L; l++) {
			int D1, D2;
			const float *h1 = lms_run_hidden(full, l, 0, &D1), *h2 = lms_run_hidden(inc, l, 0, &D2);
			ck_assert_int_eq(D1, c->C);
			ck_assert_double_lt(scaled_err(h1, h2, (size_t)n * D1), REUSE_TOL);
			for (int h = 0; h < c->NH; h++) {
				const float *a1 = lms_run_attention(full, l, h, 0),
							*a2 = lms_run_attention(inc, l, h, 0);
				ck_assert_double_lt(scaled_err(a1, a2, (size_t)n * 8), REUSE_TOL);
			}
		}
		/* and the gradients after it */
		lms_objective_logprob(full, 0, n - 1, 2, -1, LMS_GRAD_INPUT);
		lms_backward(full, LMS_GRAD_INPUT);
		lms_objective_logprob(inc, 0, n - 1, 2, -1, LMS_GRAD_INPUT);
		lms_backward(inc, LMS_GRAD_INPUT);
		ck_assert_double_lt(scaled_err(full->demb, inc->demb, (size_t)n * c->C), 10 * REUSE_TOL);
	}
	lms_run_free(full);
	lms_run_free(inc);
	lms_model_free(m);
}
END_TEST

/* A batch forward equals each row run alone. */
START_TEST(test_batch_rows)
{
	struct lms_model *m = tiny_model(7);
	const struct lms_config *c = &m->cfg;
	struct lms_run *batch, *one;
	ck_assert_int_eq(lms_run_new(m, 3, 8, &batch), LMS_OK);
	ck_assert_int_eq(lms_run_new(m, 1, 8, &one), LMS_OK);
	int ids[3 * 5] = {1, 2, 3, 4, 5, 10, 9, 8, 7, 6, 0, 0, 1, 1, 0};
	lms_embed(batch, ids, 5);
	lms_forward(batch, 0, 5);
	for (int b = 0; b < 3; b++) {
		lms_embed(one, ids + b * 5, 5);
		lms_forward(one, 0, 5);
		ck_assert_double_lt(
			tu_max_rel_err(one->hfin, batch->hfin + (size_t)b * 8 * c->C, (size_t)5 * c->C, 1e-3),
			1e-6);
	}
	/* and the backward over a batch whose rows are not contiguous: the
	 * gradient of one row's log-prob reaches that row only */
	for (int b = 0; b < 3; b++) {
		lms_embed(batch, ids, 5);
		lms_forward(batch, 0, 5);
		lms_objective_logprob(batch, b, 4, 2, -1, LMS_GRAD_INPUT);
		lms_backward(batch, LMS_GRAD_INPUT);
		lms_embed(one, ids + b * 5, 5);
		lms_forward(one, 0, 5);
		lms_objective_logprob(one, 0, 4, 2, -1, LMS_GRAD_INPUT);
		lms_backward(one, LMS_GRAD_INPUT);
		for (int bb = 0; bb < 3; bb++) {
			const float *d = batch->demb + (size_t)bb * 8 * c->C;
			if (bb == b)
				ck_assert_double_lt(tu_max_rel_err(one->demb, d, (size_t)5 * c->C, 1e-3), 1e-4);
			else
				for (int i = 0; i < 5 * c->C; i++)
					ck_assert(d[i] == 0.0f);
		}
	}
	lms_run_free(batch);
	lms_run_free(one);
	lms_model_free(m);
}
END_TEST

/* Parameter gradients of a batch are the mean of the rows' own: mean
 * cross-entropy over 2 x 5 positions is half the sum of the two rows' means
 * over 5. With capacity T = 8 the rows are not contiguous (a product per
 * row); with T = 5 they are (one product over both). */
static void check_batch_param_grads(int T)
{
	struct lms_model *m = tiny_model(10);
	ck_assert_int_eq(lms_model_grads(m), LMS_OK);
	struct lms_run *batch, *one;
	ck_assert_int_eq(lms_run_new(m, 2, T, &batch), LMS_OK);
	ck_assert_int_eq(lms_run_new(m, 1, T, &one), LMS_OK);
	int ids[10] = {1, 2, 3, 4, 5, 10, 9, 8, 7, 6}, tg[10] = {2, 3, 4, 5, 0, 9, 8, 7, 6, 1};
	lms_model_zero_grads(m);
	lms_embed(batch, ids, 5);
	lms_forward(batch, 0, 5);
	double loss = lms_objective_xent(batch, tg, LMS_GRAD_PARAMS);
	lms_backward(batch, LMS_GRAD_PARAMS);
	float *gb = malloc(m->n_params * sizeof(float));
	memcpy(gb, m->grads, m->n_params * sizeof(float));
	lms_model_zero_grads(m);
	double sum = 0.0;
	for (int b = 0; b < 2; b++) {
		lms_embed(one, ids + 5 * b, 5);
		lms_forward(one, 0, 5);
		sum += lms_objective_xent(one, tg + 5 * b, LMS_GRAD_PARAMS);
		lms_backward(one, LMS_GRAD_PARAMS);
	}
	ck_assert_double_eq_tol(loss, 0.5 * sum, 1e-6);
	for (size_t i = 0; i < m->n_params; i++)
		m->grads[i] *= 0.5f;
	ck_assert_double_lt(tu_max_rel_err(gb, m->grads, m->n_params, 1e-3), 1e-4);
	free(gb);
	lms_run_free(batch);
	lms_run_free(one);
	lms_model_free(m);
}

START_TEST(test_batch_param_grads)
{
	check_batch_param_grads(8);
	check_batch_param_grads(5);
}
END_TEST

/* Without gradient flags the cross-entropy is only evaluated: the same
 * value, computed here independently in double from the logits, and
 * dhfin left as it was. */
START_TEST(test_xent_value_only)
{
	struct lms_model *m = tiny_model(10);
	const struct lms_config *c = &m->cfg;
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 2, 5, &r), LMS_OK);
	int ids[10] = {1, 2, 3, 4, 5, 10, 9, 8, 7, 6}, tg[10] = {2, 3, -1, 5, 0, 9, 8, 7, -1, 1};
	lms_embed(r, ids, 5);
	lms_forward(r, 0, 5);
	double want = 0.0;
	for (int b = 0; b < 2; b++) {
		lms_logits(r, b, 0, 5);
		for (int t = 0; t < 5; t++) {
			const float *x = r->logits + ((size_t)b * 5 + t) * c->V;
			if (tg[b * 5 + t] < 0)
				continue;
			double s = 0.0;
			for (int k = 0; k < c->V; k++)
				s += exp((double)x[k]);
			want += log(s) - x[tg[b * 5 + t]];
		}
	}
	want /= 8;
	for (size_t i = 0; i < (size_t)2 * 5 * r->Cout; i++)
		r->dhfin[i] = 7.0f;
	double got = lms_objective_xent(r, tg, 0);
	ck_assert_double_eq_tol(got, want, 1e-5);
	for (size_t i = 0; i < (size_t)2 * 5 * r->Cout; i++)
		ck_assert_float_eq(r->dhfin[i], 7.0f);
	ck_assert_double_eq_tol(lms_objective_xent(r, tg, LMS_GRAD_INPUT), want, 1e-5);
	lms_run_free(r);
	lms_model_free(m);
}
END_TEST

START_TEST(test_attention_view)
{
	struct lms_model *m = tiny_model(8);
	const struct lms_config *c = &m->cfg;
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 2, 8, &r), LMS_OK);
	int ids[2 * 6] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1};
	lms_embed(r, ids, 6);
	lms_forward(r, 0, 6);
	for (int l = 0; l < c->L; l++)
		for (int h = 0; h < c->NH; h++)
			for (int b = 0; b < 2; b++) {
				const float *a = lms_run_attention(r, l, h, b);
				ck_assert_ptr_nonnull(a);
				for (int t = 0; t < 6; t++) {
					double s = 0.0;
					for (int j = 0; j < 8; j++) {
						float p = a[t * 8 + j];
						if (j > t)
							ck_assert(p == 0.0f);
						ck_assert(p >= 0.0f && p <= 1.0f);
						s += p;
					}
					ck_assert_double_lt(fabs(s - 1.0), 1e-5);
				}
				/* position 0 attends only to itself */
				ck_assert(a[0] == 1.0f);
			}
	ck_assert_ptr_null(lms_run_attention(r, c->L, 0, 0));
	ck_assert_ptr_null(lms_run_gates(r, 0, 0, NULL));
	lms_run_free(r);
	lms_model_free(m);
}
END_TEST

/* The logit lens on the last block's output reproduces the logits. */
START_TEST(test_lens)
{
	struct lms_model *m = tiny_model(9);
	const struct lms_config *c = &m->cfg;
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 1, 8, &r), LMS_OK);
	int ids[4] = {5, 6, 7, 8};
	lms_embed(r, ids, 4);
	lms_forward(r, 0, 4);
	lms_logits(r, 0, 0, 4);
	int D;
	const float *h = lms_run_hidden(r, c->L - 1, 0, &D);
	float out[11];
	lms_lens(r, h + 2 * D, out);
	ck_assert_double_lt(tu_max_rel_err(out, r->logits + 2 * c->V, c->V, 1e-3), 1e-5);
	lms_run_free(r);
	lms_model_free(m);
}
END_TEST

/* The lens of many rows at once (one matrix product, the normed rows a few
 * at a time through the run's scratch) reproduces every row's logits. */
START_TEST(test_lens_rows)
{
	struct lms_config c = tiny();
	c.V = 5 * c.C; /* scratch holds 5 normed rows: 7 go as 5 and 2 */
	struct lms_model *m;
	ck_assert_int_eq(lms_model_create(&c, 4, &m), LMS_OK);
	struct lms_rng g;
	lms_rng_seed(&g, 5);
	tu_fill_normal(m->params, m->n_params, 0.4f, &g);
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 1, 8, &r), LMS_OK);
	int ids[7] = {5, 6, 7, 8, 30, 2, 39};
	lms_embed(r, ids, 7);
	lms_forward(r, 0, 7);
	lms_logits(r, 0, 0, 7);
	int D;
	const float *h = lms_run_hidden(r, c.L - 1, 0, &D);
	float *out = malloc(sizeof(float) * 7 * c.V);
	lms_lens_rows(r, h, 7, out);
	ck_assert_double_lt(tu_max_rel_err(out, r->logits, 7 * c.V, 1e-3), 1e-5);
	free(out);
	lms_run_free(r);
	lms_model_free(m);
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"tensors", test_tensors},
		{"init", test_init},
		{"gradcheck_xent", test_gradcheck_xent},
		{"gradcheck_logprob", test_gradcheck_logprob},
		{"logits_two_paths", test_logits_two_paths},
		{"gradcheck_dropout", test_gradcheck_dropout},
		{"dropout_zero_bitwise", test_dropout_zero_bitwise},
		{"input_only", test_input_only},
		{"prefix_reuse", test_prefix_reuse},
		{"batch_rows", test_batch_rows},
		{"batch_param_grads", test_batch_param_grads},
		{"xent_value_only", test_xent_value_only},
		{"attention_view", test_attention_view},
		{"lens", test_lens},
		{"lens_rows", test_lens_rows},
	};
	return TU_SUITE("gpt2", cases, 0);
}
