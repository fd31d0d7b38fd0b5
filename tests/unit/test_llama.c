/* Llama: its layer ops against finite differences and by-hand values, the
 * whole model against a plain-loop forward written here, prefix reuse,
 * whole-model gradient checks with grouped-query attention, and the
 * llama2.c checkpoint and tokenizer readers (including bad files). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "arch/arch.h"
#include "nn/llama_ops.h"
#include "lmscope/llama2c.h"
#include "lmscope/tokenizer.h"
#include "testutil.h"

/* ---- a small model ------------------------------------------------------- */

static struct lms_config tiny_config(int tied)
{
	struct lms_config c = {
		.arch = LMS_LLAMA,
		.V = 11,
		.maxT = 8,
		.C = 16,
		.H = 12,
		.L = 2,
		.NH = 4,
		.KV = 2,
		.eps = 1e-5f,
		.rope_theta = 10000.0f,
		.tied = tied,
	};
	return c;
}

/* Parameters large enough that every path matters to the gradient. */
static struct lms_model *tiny_model_of(struct lms_config c, unsigned seed)
{
	struct lms_model *m;
	ck_assert_int_eq(lms_model_create(&c, seed, &m), LMS_OK);
	struct lms_rng g;
	lms_rng_seed(&g, seed + 100);
	for (int i = 0; i < m->n_tensors; i++) {
		const struct lms_tensor *t = &m->tensors[i];
		float *p = m->params + t->offset;
		/* unit-scale embeddings: RMSNorm of small vectors is sharply curved,
		 * which central differences would mistake for gradient error */
		float scale = i == 0 || !strcmp(t->name, "lm_head.weight") ? 1.0f : 0.3f;
		for (size_t j = 0; j < t->numel; j++)
			p[j] = t->ndim == 1 ? 1.0f + 0.2f * lms_rng_normal(&g) : scale * lms_rng_normal(&g);
	}
	return m;
}

static struct lms_model *tiny_model(int tied, unsigned seed)
{
	return tiny_model_of(tiny_config(tied), seed);
}

/* ---- a plain-loop Llama, the oracle ---------------------------------------- */

/* Weights as raw pointers, so the same loop can read a model's tensors
 * (Hugging Face layout) or a llama2.c file's arrays (adjacent rotary pairs). */
struct ref_w {
	const float *emb, *norm, *wcls;
	const float *ln1[4], *wq[4], *wk[4], *wv[4], *wo[4], *ln2[4], *w1[4], *w2[4], *w3[4];
};

static const float *tp(const struct lms_model *m, int l, const char *suffix)
{
	char name[64];
	if (l < 0)
		snprintf(name, sizeof name, "%s", suffix);
	else
		snprintf(name, sizeof name, "model.layers.%d.%s", l, suffix);
	const struct lms_tensor *t = lms_model_tensor(m, name);
	ck_assert_msg(t != NULL, "no tensor %s", name);
	return m->params + t->offset;
}

static struct ref_w ref_of_model(const struct lms_model *m)
{
	struct ref_w w;
	w.emb = tp(m, -1, "model.embed_tokens.weight");
	w.norm = tp(m, -1, "model.norm.weight");
	w.wcls = m->cfg.tied ? w.emb : tp(m, -1, "lm_head.weight");
	for (int l = 0; l < m->cfg.L; l++) {
		w.ln1[l] = tp(m, l, "input_layernorm.weight");
		w.wq[l] = tp(m, l, "self_attn.q_proj.weight");
		w.wk[l] = tp(m, l, "self_attn.k_proj.weight");
		w.wv[l] = tp(m, l, "self_attn.v_proj.weight");
		w.wo[l] = tp(m, l, "self_attn.o_proj.weight");
		w.ln2[l] = tp(m, l, "post_attention_layernorm.weight");
		w.w1[l] = tp(m, l, "mlp.gate_proj.weight");
		w.w2[l] = tp(m, l, "mlp.down_proj.weight");
		w.w3[l] = tp(m, l, "mlp.up_proj.weight");
	}
	return w;
}

static void ref_rmsnorm(double *o, const double *x, const float *w, int C, double eps)
{
	double ss = 0;
	for (int i = 0; i < C; i++)
		ss += x[i] * x[i];
	double r = 1.0 / sqrt(ss / C + eps);
	for (int i = 0; i < C; i++)
		o[i] = x[i] * r * w[i];
}

static void ref_matvec(double *o, const float *w, const double *x, int out, int in)
{
	for (int i = 0; i < out; i++) {
		double s = 0;
		for (int j = 0; j < in; j++)
			s += (double)w[(size_t)i * in + j] * x[j];
		o[i] = s;
	}
}

/* Rotates each head of x at position p: pairs (2i, 2i+1) when adjacent,
 * else (i, i + hs/2); angle p * theta^(-2i/hs). */
static void ref_rope(double *x, int heads, int hs, int p, double theta, int adjacent)
{
	for (int h = 0; h < heads; h++)
		for (int i = 0; i < hs / 2; i++) {
			double f = p * pow(theta, -2.0 * i / hs);
			int a = h * hs + (adjacent ? 2 * i : i),
				b = h * hs + (adjacent ? 2 * i + 1 : i + hs / 2);
			double x0 = x[a], x1 = x[b];
			x[a] = x0 * cos(f) - x1 * sin(f);
			x[b] = x0 * sin(f) + x1 * cos(f);
		}
}

/* logits (n, V) of the sequence ids, one position at a time with a KV cache,
 * as llama2.c's run.c does. When emb is not NULL, its rows (n, C) replace
 * the embedding lookup. */
static void ref_forward_emb(const struct lms_config *c, const struct ref_w *w, const int *ids,
                            const double *emb, int n, int adjacent, double *logits)
{
	int C = c->C, H = c->H, hs = C / c->NH, KC = c->KV * hs, grp = c->NH / c->KV;
	double *x = calloc(C, sizeof *x), *xb = calloc(C, sizeof *xb), *q = calloc(C, sizeof *q);
	double *hb = calloc(H, sizeof *hb), *hb2 = calloc(H, sizeof *hb2), *o = calloc(C, sizeof *o);
	double *kc = calloc((size_t)c->L * n * KC, sizeof *kc),
		   *vc = calloc((size_t)c->L * n * KC, sizeof *vc);
	double *att = calloc(n, sizeof *att);
	for (int p = 0; p < n; p++) {
		for (int i = 0; i < C; i++)
			x[i] = emb ? emb[(size_t)p * C + i] : w->emb[(size_t)ids[p] * C + i];
		for (int l = 0; l < c->L; l++) {
			double *k = kc + ((size_t)l * n + p) * KC, *v = vc + ((size_t)l * n + p) * KC;
			ref_rmsnorm(xb, x, w->ln1[l], C, c->eps);
			ref_matvec(q, w->wq[l], xb, C, C);
			ref_matvec(k, w->wk[l], xb, KC, C);
			ref_matvec(v, w->wv[l], xb, KC, C);
			ref_rope(q, c->NH, hs, p, c->rope_theta, adjacent);
			ref_rope(k, c->KV, hs, p, c->rope_theta, adjacent);
			for (int h = 0; h < c->NH; h++) {
				int kh = h / grp;
				double mx = -1e300, sum = 0;
				for (int t = 0; t <= p; t++) {
					double s = 0;
					for (int i = 0; i < hs; i++)
						s += q[h * hs + i] * kc[((size_t)l * n + t) * KC + kh * hs + i];
					att[t] = s / sqrt(hs);
					mx = fmax(mx, att[t]);
				}
				for (int t = 0; t <= p; t++)
					sum += att[t] = exp(att[t] - mx);
				for (int i = 0; i < hs; i++) {
					double s = 0;
					for (int t = 0; t <= p; t++)
						s += att[t] / sum * vc[((size_t)l * n + t) * KC + kh * hs + i];
					xb[h * hs + i] = s;
				}
			}
			ref_matvec(o, w->wo[l], xb, C, C);
			for (int i = 0; i < C; i++)
				x[i] += o[i];
			ref_rmsnorm(xb, x, w->ln2[l], C, c->eps);
			ref_matvec(hb, w->w1[l], xb, H, C);
			ref_matvec(hb2, w->w3[l], xb, H, C);
			for (int i = 0; i < H; i++)
				hb[i] = hb[i] / (1 + exp(-hb[i])) * hb2[i];
			ref_matvec(o, w->w2[l], hb, C, H);
			for (int i = 0; i < C; i++)
				x[i] += o[i];
		}
		ref_rmsnorm(xb, x, w->norm, C, c->eps);
		ref_matvec(logits + (size_t)p * c->V, w->wcls, xb, c->V, C);
	}
	free(x);
	free(xb);
	free(q);
	free(hb);
	free(hb2);
	free(o);
	free(kc);
	free(vc);
	free(att);
}

static void ref_forward(const struct lms_config *c, const struct ref_w *w, const int *ids, int n,
                        int adjacent, double *logits)
{
	ref_forward_emb(c, w, ids, NULL, n, adjacent, logits);
}

/* Mean cross-entropy of next-token targets under the oracle, in double. */
static double ref_xent(const struct lms_config *c, const struct ref_w *w, const int *ids,
                       const double *emb, const int *tg, int n)
{
	double *lg = malloc(sizeof(double) * n * c->V), loss = 0;
	ref_forward_emb(c, w, ids, emb, n, 0, lg);
	for (int t = 0; t < n; t++) {
		double mx = -1e300, s = 0;
		for (int k = 0; k < c->V; k++)
			mx = fmax(mx, lg[t * c->V + k]);
		for (int k = 0; k < c->V; k++)
			s += exp(lg[t * c->V + k] - mx);
		loss -= lg[t * c->V + tg[t]] - mx - log(s);
	}
	free(lg);
	return loss / n;
}

/* Worst |a - b| / max(1, |b|) between lmscope's logits and the oracle's. */
static double logits_err(struct lms_run *r, const double *ref, int n)
{
	int V = r->m->cfg.V;
	lms_logits(r, 0, 0, n);
	double worst = 0;
	for (int i = 0; i < n * V; i++)
		worst = fmax(worst, fabs(r->logits[i] - ref[i]) / fmax(1.0, fabs(ref[i])));
	return worst;
}

/* ---- the ops ------------------------------------------------------------------ */

/* Central differences of sum(out * probe) for an op given as a callback. */
typedef void (*op_fn)(float *out, float *in, void *ctx);

static double fd_check(op_fn f, void *ctx, float *in, int nin, const float *dinp, int nout,
                       const float *probe)
{
	float *out = malloc(sizeof(float) * nout);
	double worst = 0;
	for (int i = 0; i < nin; i++) {
		double v[2];
		float keep = in[i];
		for (int side = 0; side < 2; side++) {
			in[i] = keep + (side ? -1e-2f : 1e-2f);
			f(out, in, ctx);
			double s = 0;
			for (int k = 0; k < nout; k++)
				s += (double)out[k] * probe[k];
			v[side] = s;
		}
		in[i] = keep;
		double fd = (v[0] - v[1]) / 2e-2;
		worst = fmax(worst, fabs(fd - dinp[i]) / fmax(1e-2, fabs(fd)));
	}
	free(out);
	return worst;
}

enum { ON = 3, OC = 10 };

struct rms_ctx {
	float *w;
	float rstd[ON];
	int wrt_w;
	float *x;
};

static void rms_fn(float *out, float *in, void *p)
{
	struct rms_ctx *c = p;
	if (c->wrt_w)
		lms_rmsnorm_forward(out, c->rstd, c->x, in, ON, OC, 1e-5f);
	else
		lms_rmsnorm_forward(out, c->rstd, in, c->w, ON, OC, 1e-5f);
}

START_TEST(test_rmsnorm)
{
	struct lms_rng g;
	lms_rng_seed(&g, 1);
	float x[ON * OC], w[OC], out[ON * OC], probe[ON * OC], dx[ON * OC] = {0}, dw[OC] = {0};
	tu_fill_normal(x, ON * OC, 1.0f, &g);
	tu_fill_normal(w, OC, 1.0f, &g);
	tu_fill_normal(probe, ON * OC, 1.0f, &g);
	struct rms_ctx c = {.w = w, .x = x};
	lms_rmsnorm_forward(out, c.rstd, x, w, ON, OC, 1e-5f);
	/* by hand, first row */
	double ss = 0;
	for (int i = 0; i < OC; i++)
		ss += (double)x[i] * x[i];
	for (int i = 0; i < OC; i++)
		ck_assert_double_eq_tol(out[i], x[i] / sqrt(ss / OC + 1e-5) * w[i], 1e-5);
	lms_rmsnorm_backward(dx, dw, probe, x, w, c.rstd, ON, OC);
	double ex = fd_check(rms_fn, &c, x, ON * OC, dx, ON * OC, probe);
	c.wrt_w = 1;
	double ew = fd_check(rms_fn, &c, w, OC, dw, ON * OC, probe);
	ck_assert_msg(ex < 1e-2 && ew < 1e-2, "rmsnorm dx %g dw %g", ex, ew);
}
END_TEST

struct rope_ctx {
	float cosv[8 * 4], sinv[8 * 4];
};

static void rope_fn(float *out, float *in, void *p)
{
	struct rope_ctx *c = p;
	memcpy(out, in, sizeof(float) * 3 * 20);
	/* rows of stride 20 holding 2 heads of 8, positions 2..4 */
	lms_rope_forward(out, c->cosv, c->sinv, 2, 3, 20, 2, 8);
}

START_TEST(test_rope)
{
	struct rope_ctx c;
	lms_rope_table(c.cosv, c.sinv, 8, 8, 10000.0f, NULL);
	struct lms_rng g;
	lms_rng_seed(&g, 2);
	float x[60], y[60], probe[60], d[60];
	tu_fill_normal(x, 60, 1.0f, &g);
	tu_fill_normal(probe, 60, 1.0f, &g);
	rope_fn(y, x, &c);
	/* by hand: position 3 (row 1), head 1, pair i = 1: entries 9 and 13 */
	double f = 3 * pow(10000.0, -2.0 / 8);
	const float *a = x + 20 + 8;
	ck_assert_double_eq_tol(y[20 + 9], a[1] * cos(f) - a[5] * sin(f), 1e-5);
	ck_assert_double_eq_tol(y[20 + 13], a[5] * cos(f) + a[1] * sin(f), 1e-5);
	/* columns past the heads are untouched */
	ck_assert_float_eq(y[20 + 17], x[20 + 17]);
	memcpy(d, probe, sizeof d);
	lms_rope_backward(d, c.cosv, c.sinv, 2, 3, 20, 2, 8);
	double e = fd_check(rope_fn, &c, x, 60, d, 60, probe);
	ck_assert_msg(e < 1e-3, "rope backward %g", e);
}
END_TEST

struct swiglu_ctx {
	float *other;
	int wrt_up;
};

static void swiglu_fn(float *out, float *in, void *p)
{
	struct swiglu_ctx *c = p;
	if (c->wrt_up)
		lms_swiglu_forward(out, c->other, in, 30);
	else
		lms_swiglu_forward(out, in, c->other, 30);
}

START_TEST(test_swiglu)
{
	struct lms_rng g;
	lms_rng_seed(&g, 3);
	float gt[30], up[30], probe[30], out[30], dg[30] = {0}, du[30] = {0};
	tu_fill_normal(gt, 30, 2.0f, &g);
	tu_fill_normal(up, 30, 1.0f, &g);
	tu_fill_normal(probe, 30, 1.0f, &g);
	lms_swiglu_forward(out, gt, up, 30);
	for (int i = 0; i < 30; i++)
		ck_assert_double_eq_tol(out[i], gt[i] / (1 + exp(-gt[i])) * up[i], 1e-5);
	lms_swiglu_backward(dg, du, probe, gt, up, 30);
	struct swiglu_ctx c = {up, 0};
	double eg = fd_check(swiglu_fn, &c, gt, 30, dg, 30, probe);
	c = (struct swiglu_ctx){gt, 1};
	double eu = fd_check(swiglu_fn, &c, up, 30, du, 30, probe);
	ck_assert_msg(eg < 1e-2 && eu < 1e-2, "swiglu dgate %g dup %g", eg, eu);
}
END_TEST

/* ---- the model ---------------------------------------------------------------- */

START_TEST(test_tensors)
{
	for (int tied = 0; tied < 2; tied++) {
		struct lms_model *m = tiny_model(tied, 5);
		const struct lms_config *c = &m->cfg;
		ck_assert_int_eq(m->n_tensors, 1 + 9 * c->L + 1 + !tied);
		const struct lms_tensor *k = lms_model_tensor(m, "model.layers.1.self_attn.k_proj.weight");
		ck_assert_ptr_nonnull(k);
		ck_assert_int_eq(k->shape[0], 8); /* KV * hs */
		ck_assert_int_eq(k->shape[1], 16);
		ck_assert_ptr_nonnull(lms_model_tensor(m, "model.layers.1.mlp.down_proj.weight"));
		ck_assert((lms_model_tensor(m, "lm_head.weight") == NULL) == tied);
		size_t per = 16 + 256 + 2 * 128 + 256 + 16 + 3 * 12 * 16;
		ck_assert_uint_eq(m->n_params, 11 * 16 + 2 * per + 16 + (tied ? 0 : 11 * 16));
		lms_model_free(m);
	}
}
END_TEST

START_TEST(test_forward_reference)
{
	int ids[8] = {3, 1, 4, 1, 5, 9, 2, 6};
	for (int tied = 0; tied < 2; tied++) {
		struct lms_model *m = tiny_model(tied, 7 + tied);
		struct lms_run *r;
		ck_assert_int_eq(lms_run_new(m, 1, 8, &r), LMS_OK);
		ck_assert_int_eq(lms_embed(r, ids, 8), LMS_OK);
		lms_forward(r, 0, 8);
		double ref[8 * 11];
		struct ref_w w = ref_of_model(m);
		ref_forward(&m->cfg, &w, ids, 8, 0, ref);
		double e = logits_err(r, ref, 8);
		ck_assert_msg(e < 1e-4, "tied %d: logits differ from the plain loop by %g", tied, e);
		/* attention rows are distributions over the causal prefix */
		const float *a = lms_run_attention(r, 1, 3, 0);
		for (int t = 0; t < 8; t++) {
			double s = 0;
			for (int j = 0; j <= t; j++)
				s += a[t * 8 + j];
			ck_assert_double_eq_tol(s, 1.0, 1e-5);
			if (t + 1 < 8)
				ck_assert_float_eq(a[t * 8 + t + 1], 0.0f);
		}
		lms_run_free(r);
		lms_model_free(m);
	}
}
END_TEST

/* Appending positions one at a time (the KV cache) gives the full forward's
 * activations, and the backward after it the full backward's gradients. */
static void prefix_reuse(struct lms_model *m)
{
	int ids[8] = {2, 7, 1, 8, 2, 8, 1, 8};
	int T = 8, C = m->cfg.C;
	struct lms_run *full, *part;
	ck_assert_int_eq(lms_run_new(m, 1, T, &full), LMS_OK);
	ck_assert_int_eq(lms_run_new(m, 1, T, &part), LMS_OK);
	lms_embed(full, ids, T);
	lms_forward(full, 0, T);
	lms_embed(part, ids, 3);
	lms_forward(part, 0, 3);
	for (int n = 4; n <= T; n++) {
		lms_embed(part, ids, n);
		lms_forward(part, n - 1, n);
	}
	ck_assert_double_le(tu_max_rel_err(full->hfin, part->hfin, (size_t)T * C, 1.0), 1e-5);
	for (int l = 0; l < m->cfg.L; l++) {
		int D;
		const float *hf = lms_run_hidden(full, l, 0, &D), *hp = lms_run_hidden(part, l, 0, &D);
		ck_assert_double_le(tu_max_rel_err(hf, hp, (size_t)T * D, 1.0), 1e-5);
		for (int h = 0; h < m->cfg.NH; h++)
			ck_assert_double_le(tu_max_rel_err(lms_run_attention(full, l, h, 0),
			                                   lms_run_attention(part, l, h, 0), (size_t)T * T,
			                                   1e-3),
			                    1e-5);
	}
	lms_objective_logprob(full, 0, T - 1, 4, -1, LMS_GRAD_INPUT);
	lms_backward(full, LMS_GRAD_INPUT);
	lms_objective_logprob(part, 0, T - 1, 4, -1, LMS_GRAD_INPUT);
	lms_backward(part, LMS_GRAD_INPUT);
	ck_assert_double_le(tu_max_rel_err(full->demb, part->demb, (size_t)T * C, 1.0), 1e-5);
	lms_run_free(full);
	lms_run_free(part);
}

START_TEST(test_prefix_reuse)
{
	struct lms_model *m = tiny_model(0, 11);
	prefix_reuse(m);
	lms_model_free(m);
}
END_TEST

/* log p at an earlier position: the positions after it change nothing, so
 * the gradients equal those of a run that ends there (and are zero after). */
static void earlier_position(struct lms_model *m)
{
	int ids[8] = {5, 3, 9, 1, 0, 10, 4, 4}, pos = 4;
	int C = m->cfg.C;
	ck_assert_int_eq(lms_model_grads(m), LMS_OK);
	struct lms_run *full, *part;
	ck_assert_int_eq(lms_run_new(m, 1, 8, &full), LMS_OK);
	ck_assert_int_eq(lms_run_new(m, 1, pos + 1, &part), LMS_OK);
	lms_embed(part, ids, pos + 1);
	lms_forward(part, 0, pos + 1);
	lms_objective_logprob(part, 0, pos, 7, -1, LMS_GRAD_PARAMS | LMS_GRAD_INPUT);
	lms_backward(part, LMS_GRAD_PARAMS | LMS_GRAD_INPUT);
	float *g = malloc(sizeof(float) * m->n_params);
	memcpy(g, m->grads, sizeof(float) * m->n_params);
	lms_model_zero_grads(m);
	lms_embed(full, ids, 8);
	lms_forward(full, 0, 8);
	lms_objective_logprob(full, 0, pos, 7, -1, LMS_GRAD_PARAMS | LMS_GRAD_INPUT);
	lms_backward(full, LMS_GRAD_PARAMS | LMS_GRAD_INPUT);
	ck_assert_double_le(tu_max_rel_err(full->demb, part->demb, (size_t)(pos + 1) * C, 1.0), 1e-5);
	for (int i = (pos + 1) * C; i < 8 * C; i++)
		ck_assert_float_eq(full->demb[i], 0.0f);
	ck_assert_double_le(tu_max_rel_err(m->grads, g, m->n_params, 1.0), 1e-4);
	free(g);
	lms_run_free(full);
	lms_run_free(part);
}

START_TEST(test_earlier_position)
{
	struct lms_model *m = tiny_model(0, 61);
	earlier_position(m);
	lms_model_free(m);
}
END_TEST

/* Float32 central differences through two Llama blocks carry ~1e-4 of
 * rounding noise in the objective's slope, hence abs_tol; the tight check is
 * test_gradcheck_double below. */
START_TEST(test_gradcheck_xent)
{
	for (int tied = 0; tied < 2; tied++) {
		struct lms_model *m = tiny_model(tied, 21 + tied);
		double e = tu_gradcheck_xent(m, 2, 6, 150, 5 + tied, 1e-2, 1e-4);
		ck_assert_msg(e < 1e-2, "tied %d: worst relative error %g", tied, e);
		lms_model_free(m);
	}
}
END_TEST

/* The same gradients against central differences of the double-precision
 * oracle, where rounding noise is negligible: every input entry and a
 * spread of entries of every tensor. */
START_TEST(test_gradcheck_double)
{
	int T = 6, ids[6] = {1, 4, 2, 8, 5, 7}, tg[6] = {4, 2, 8, 5, 7, 3};
	for (int tied = 0; tied < 2; tied++) {
		struct lms_model *m = tiny_model(tied, 51 + tied);
		const struct lms_config *c = &m->cfg;
		ck_assert_int_eq(lms_model_grads(m), LMS_OK);
		struct lms_run *r;
		ck_assert_int_eq(lms_run_new(m, 1, T, &r), LMS_OK);
		lms_embed(r, ids, T);
		lms_forward(r, 0, T);
		lms_objective_xent(r, tg, LMS_GRAD_PARAMS | LMS_GRAD_INPUT);
		lms_backward(r, LMS_GRAD_PARAMS | LMS_GRAD_INPUT);
		struct ref_w w = ref_of_model(m);
		double *emb = malloc(sizeof(double) * T * c->C), worst = 0;
		for (int i = 0; i < T * c->C; i++)
			emb[i] = r->emb[i];
		for (int i = 0; i < T * c->C; i++) {
			double keep = emb[i], f[2];
			for (int side = 0; side < 2; side++) {
				emb[i] = keep + (side ? -1e-5 : 1e-5);
				f[side] = ref_xent(c, &w, ids, emb, tg, T);
			}
			emb[i] = keep;
			double fd = (f[0] - f[1]) / 2e-5;
			worst = fmax(worst, fabs(fd - r->demb[i]) / fmax(1e-3, fabs(fd)));
		}
		ck_assert_msg(worst < 1e-3, "tied %d: input gradients off by %g", tied, worst);
		for (int ti = 0; ti < m->n_tensors; ti++) {
			const struct lms_tensor *t = &m->tensors[ti];
			double tw = 0;
			for (size_t j = 0; j < t->numel; j += 1 + t->numel / 9) {
				float *p = m->params + t->offset + j, keep = *p, pm[2];
				double f[2];
				for (int side = 0; side < 2; side++) {
					*p = pm[side] = keep + (side ? -1e-3f : 1e-3f);
					f[side] = ref_xent(c, &w, ids, NULL, tg, T);
				}
				*p = keep;
				double fd = (f[0] - f[1]) / ((double)pm[0] - pm[1]);
				double an = m->grads[t->offset + j];
				tw = fmax(tw, fabs(fd - an) / fmax(1e-3, fabs(fd)));
			}
			ck_assert_msg(tw < 1e-3, "tied %d: %s gradient off by %g", tied, t->name, tw);
		}
		free(emb);
		lms_run_free(r);
		lms_model_free(m);
	}
}
END_TEST

/* Qwen3's per-head q_norm and k_norm: its tensors, gradients against
 * central differences (every tensor, the norms' weights included, and the
 * input, over two batch rows), and the KV cache and an earlier position's
 * gradients as above. (tests/torch/hf_llama_crosscheck.py checks the
 * forward and the input gradients against PyTorch.) */
START_TEST(test_qk_norm)
{
	for (int tied = 0; tied < 2; tied++) {
		struct lms_config c = tiny_config(tied);
		c.qk_norm = 1;
		struct lms_model *m = tiny_model_of(c, 71 + tied);
		int hs = c.C / c.NH, found = 0;
		for (int i = 0; i < m->n_tensors; i++)
			if (strstr(m->tensors[i].name, "_norm.weight") &&
			    strstr(m->tensors[i].name, "self_attn")) {
				ck_assert_int_eq(m->tensors[i].ndim, 1);
				ck_assert_int_eq(m->tensors[i].shape[0], hs);
				found++;
			}
		ck_assert_int_eq(found, 2 * c.L);
		double e = tu_gradcheck_xent(m, 2, 6, 150, 5 + tied, 1e-2, 1e-4);
		ck_assert_msg(e < 1e-2, "tied %d: worst relative error %g", tied, e);
		double e1 = tu_gradcheck_logprob(m, 6, 3, -1, 7, 1e-2, 3e-4);
		ck_assert_msg(e1 < 1e-2, "tied %d: logprob %g", tied, e1);
		prefix_reuse(m);
		lms_model_zero_grads(m);
		earlier_position(m);
		lms_model_free(m);
	}
}
END_TEST

START_TEST(test_gradcheck_logprob)
{
	struct lms_model *m = tiny_model(0, 31);
	double e1 = tu_gradcheck_logprob(m, 6, 3, -1, 7, 1e-2, 3e-4);
	double e2 = tu_gradcheck_logprob(m, 6, 3, 9, 9, 1e-2, 3e-4);
	ck_assert_msg(e1 < 1e-2 && e2 < 1e-2, "logprob %g contrastive %g", e1, e2);
	lms_model_free(m);
}
END_TEST

/* ---- llama2.c files -------------------------------------------------------------- */

static char *tmp_file(char *tmpl)
{
	int fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	close(fd);
	return tmpl;
}

/* Writes a random checkpoint in llama2.c's layout (Meta's adjacent rotary
 * pairs) and keeps its arrays in *w for the oracle. Returns the floats. */
static float *write_bin(const char *path, const struct lms_config *c, struct ref_w *w,
                        long truncate_by)
{
	int hs = c->C / c->NH, KC = c->KV * hs;
	size_t C = c->C, H = c->H, L = c->L, V = c->V;
	size_t n = V * C + L * (2 * C + 2 * C * C + 2 * KC * C + 3 * H * C) + C + (size_t)c->maxT * hs +
	           (c->tied ? 0 : V * C);
	float *f = malloc(n * sizeof(float));
	struct lms_rng g;
	lms_rng_seed(&g, 77);
	tu_fill_normal(f, n, 0.4f, &g);
	float *p = f;
	w->emb = p;
	p += V * C;
	for (size_t l = 0; l < L; l++) {
		w->ln1[l] = p;
		for (size_t i = 0; i < C; i++)
			p[i] = 1 + 0.2f * p[i];
		p += C;
	}
	for (size_t l = 0; l < L; l++) {
		w->wq[l] = p;
		p += C * C;
	}
	for (size_t l = 0; l < L; l++) {
		w->wk[l] = p;
		p += KC * C;
	}
	for (size_t l = 0; l < L; l++) {
		w->wv[l] = p;
		p += KC * C;
	}
	for (size_t l = 0; l < L; l++) {
		w->wo[l] = p;
		p += C * C;
	}
	for (size_t l = 0; l < L; l++) {
		w->ln2[l] = p;
		for (size_t i = 0; i < C; i++)
			p[i] = 1 + 0.2f * p[i];
		p += C;
	}
	for (size_t l = 0; l < L; l++) {
		w->w1[l] = p;
		p += H * C;
	}
	for (size_t l = 0; l < L; l++) {
		w->w2[l] = p;
		p += C * H;
	}
	for (size_t l = 0; l < L; l++) {
		w->w3[l] = p;
		p += H * C;
	}
	w->norm = p;
	p += C;
	p += (size_t)c->maxT * hs;
	w->wcls = c->tied ? w->emb : p;
	int32_t h[7] = {c->C, c->H, c->L, c->NH, c->KV, c->tied ? c->V : -c->V, c->maxT};
	FILE *fp = fopen(path, "wb");
	fwrite(h, sizeof h, 1, fp);
	fwrite(f, sizeof(float), n, fp);
	fclose(fp);
	if (truncate_by)
		ck_assert_int_eq(truncate(path, (long)(sizeof h + n * sizeof(float)) - truncate_by), 0);
	return f;
}

START_TEST(test_llama2c_load)
{
	int ids[8] = {0, 10, 3, 3, 7, 1, 2, 5};
	for (int tied = 0; tied < 2; tied++) {
		char path[] = "/tmp/lmscope-llama2c-XXXXXX";
		tmp_file(path);
		struct lms_config c = tiny_config(tied);
		struct ref_w w;
		float *f = write_bin(path, &c, &w, 0);
		struct lms_model *m;
		ck_assert_msg(lms_llama2c_load(path, &m) == LMS_OK, "%s", lms_errmsg());
		ck_assert_int_eq(m->cfg.tied, tied);
		ck_assert_int_eq(m->cfg.KV, 2);
		struct lms_run *r;
		ck_assert_int_eq(lms_run_new(m, 1, 8, &r), LMS_OK);
		lms_embed(r, ids, 8);
		lms_forward(r, 0, 8);
		double ref[8 * 11];
		ref_forward(&c, &w, ids, 8, 1, ref);
		double e = logits_err(r, ref, 8);
		ck_assert_msg(e < 1e-4, "tied %d: logits differ from llama2.c's loop by %g", tied, e);
		lms_run_free(r);
		lms_model_free(m);
		free(f);
		unlink(path);
	}
}
END_TEST

static enum lms_status load_header(const int32_t h[7], long extra_bytes)
{
	char path[] = "/tmp/lmscope-llama2c-XXXXXX";
	tmp_file(path);
	FILE *fp = fopen(path, "wb");
	fwrite(h, sizeof(int32_t), 7, fp);
	for (long i = 0; i < extra_bytes; i++)
		fputc(0, fp);
	fclose(fp);
	struct lms_model *m = NULL;
	enum lms_status st = lms_llama2c_load(path, &m);
	ck_assert_ptr_null(m);
	ck_assert(strstr(lms_errmsg(), path) != NULL);
	unlink(path);
	return st;
}

START_TEST(test_llama2c_bad)
{
	/* absurd sizes: fail on the header, before any allocation */
	int32_t huge[7] = {1 << 30, 1 << 30, 1000, 8, 4, 32000, 1 << 30};
	ck_assert_int_ne(load_header(huge, 0), LMS_OK);
	int32_t big[7] = {65536, 65536, 100, 64, 64, 32000, 4096}; /* ~1e12 parameters */
	ck_assert_int_ne(load_header(big, 0), LMS_OK);
	int32_t zero[7] = {64, 172, 0, 8, 4, 512, 512};
	ck_assert_int_eq(load_header(zero, 0), LMS_EFORMAT);
	int32_t heads[7] = {64, 172, 5, 7, 4, 512, 512};
	ck_assert_int_eq(load_header(heads, 0), LMS_EFORMAT);
	int32_t minv[7] = {64, 172, 5, 8, 4, INT32_MIN, 512};
	ck_assert_int_eq(load_header(minv, 0), LMS_EFORMAT);
	/* a plausible header on a file far shorter than it implies */
	int32_t ok[7] = {64, 172, 5, 8, 4, 512, 512};
	ck_assert_int_eq(load_header(ok, 1000), LMS_EFORMAT);
	/* shorter than the header itself */
	char path[] = "/tmp/lmscope-llama2c-XXXXXX";
	tmp_file(path);
	FILE *fp = fopen(path, "wb");
	fwrite(ok, 1, 10, fp);
	fclose(fp);
	struct lms_model *m = NULL;
	ck_assert_int_eq(lms_llama2c_load(path, &m), LMS_EFORMAT);
	/* a real layout missing its last bytes, or with bytes to spare */
	struct lms_config c = tiny_config(0);
	struct ref_w w;
	free(write_bin(path, &c, &w, 4));
	ck_assert_int_eq(lms_llama2c_load(path, &m), LMS_EFORMAT);
	ck_assert_ptr_null(m);
	free(write_bin(path, &c, &w, -4));
	ck_assert_int_eq(lms_llama2c_load(path, &m), LMS_EFORMAT);
	unlink(path);
	ck_assert_int_eq(lms_llama2c_load(path, &m), LMS_EIO);
}
END_TEST

static void expect_ids(const struct lms_tokenizer *tok, const char *text, const int *want, size_t n)
{
	int *ids;
	size_t got;
	ck_assert_int_eq(lms_tokenizer_encode(tok, text, strlen(text), &ids, &got, NULL, NULL), LMS_OK);
	ck_assert_msg(got == n, "\"%s\": %zu ids, want %zu", text, got, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(ids[i] == want[i], "\"%s\": id %zu is %d, want %d", text, i, ids[i], want[i]);
	char *back;
	ck_assert_int_eq(lms_tokenizer_decode(tok, ids, got, &back, NULL), LMS_OK);
	ck_assert_str_eq(back, text);
	free(back);
	free(ids);
}

START_TEST(test_tokenizer)
{
	char path[] = "/tmp/lmscope-tok-XXXXXX";
	tmp_file(path);
	tu_write_llama2c_tok(path, 0);
	struct lms_tokenizer *tok;
	ck_assert_msg(lms_llama2c_tokenizer_load(path, &tok) == LMS_OK, "%s", lms_errmsg());
	ck_assert_int_eq(lms_tokenizer_vocab_size(tok), 266);
	ck_assert_int_eq(lms_tokenizer_bos(tok), 1);
	ck_assert_str_eq(lms_tokenizer_piece(tok, 1), "<s>");
	ck_assert_str_eq(lms_tokenizer_piece(tok, 2), "</s>");
	ck_assert_str_eq(lms_tokenizer_piece(tok, 3 + 0x41), "<0x41>");
	/* ids: " " 259, "a" 260, "b" 261, " a" 262, "ab" 263, " ab" 264, "é" 265.
	 * "ab": [" ", "a", "b"]: " a" (-5) loses to "ab" (-4); then " " + "ab"
	 * gives " ab". */
	expect_ids(tok, "ab", (int[]){264}, 1);
	/* "ba": " b" is no piece, "ba" neither: [" ", "b", "a"] */
	expect_ids(tok, "ba", (int[]){259, 261, 260}, 3);
	/* "aa": " a" (-5) is the only pair; then " a" + "a" is no piece */
	expect_ids(tok, "aa", (int[]){262, 260}, 2);
	/* a two-byte character with a piece, a three-byte one without (bytes) */
	expect_ids(tok, "\xc3\xa9\xe2\x82\xac", (int[]){259, 265, 0xe2 + 3, 0x82 + 3, 0xac + 3}, 5);
	/* stray continuation bytes and invalid UTF-8 still round-trip */
	expect_ids(tok, "\x80\xff", (int[]){259, 0x80 + 3, 0xff + 3}, 3);
	/* offsets point at the first byte of each token */
	int *ids;
	size_t n, *off;
	ck_assert_int_eq(lms_tokenizer_encode(tok, "bab", 3, &ids, &n, &off, NULL), LMS_OK);
	ck_assert_uint_eq(n, 3); /* " ", "b", "ab" */
	ck_assert_uint_eq(off[2], 1);
	ck_assert_uint_eq(off[3], 3);
	free(ids);
	free(off);
	/* saved into a directory as tokenizer.bin: the same bytes, found there */
	char dir[] = "/tmp/lmscope-tokdir-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(lms_tokenizer_save(tok, dir), LMS_OK);
	lms_tokenizer_free(tok);
	char saved[64];
	snprintf(saved, sizeof saved, "%s/tokenizer.bin", dir);
	FILE *a = fopen(path, "rb"), *b = fopen(saved, "rb");
	ck_assert(a && b);
	int ca, cb;
	do {
		ca = fgetc(a);
		cb = fgetc(b);
		ck_assert_int_eq(ca, cb);
	} while (ca != EOF);
	fclose(a);
	fclose(b);
	ck_assert_int_eq(lms_tokenizer_load(dir, &tok), LMS_OK);
	ck_assert_ptr_nonnull(tok);
	ck_assert_int_eq(lms_tokenizer_kind(tok), LMS_TOK_SPM);
	expect_ids(tok, "ab", (int[]){264}, 1);
	lms_tokenizer_free(tok);
	unlink(saved);
	rmdir(dir);
	/* a file that ends early, inside a record */
	for (long cut = 1; cut <= 9; cut += 4) {
		tu_write_llama2c_tok(path, cut);
		ck_assert_int_eq(lms_llama2c_tokenizer_load(path, &tok), LMS_EFORMAT);
		ck_assert(strstr(lms_errmsg(), path) != NULL);
	}
	FILE *fp = fopen(path, "wb");
	fclose(fp);
	ck_assert_int_eq(lms_llama2c_tokenizer_load(path, &tok), LMS_EFORMAT);
	unlink(path);
}
END_TEST

#define LLAMA2_TOK "../shared/tokenizers/llama2/tokenizer.bin"

/* The real Llama 2 tokenizer (external): random byte strings, any bytes at
 * all, decode back to themselves. */
START_TEST(test_tokenizer_roundtrip)
{
	const char *path = LLAMA2_TOK;
	struct lms_tokenizer *tok;
	ck_assert_msg(lms_llama2c_tokenizer_load(path, &tok) == LMS_OK, "%s", lms_errmsg());
	ck_assert_int_eq(lms_tokenizer_vocab_size(tok), 32000);
	struct lms_rng g;
	lms_rng_seed(&g, 9);
	static const char *const alphabet[] = {
		" ",    "  ",   "e", "the", "\n", "\t", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\xa4\x96",
		"\x80", "\xff", "",  "0",   "'s", "<s>"};
	for (int round = 0; round < 200; round++) {
		char text[256];
		size_t len = 0;
		int parts = (int)lms_rng_below(&g, 40);
		for (int i = 0; i < parts; i++) {
			if (lms_rng_below(&g, 4) == 0) {
				text[len++] = (char)lms_rng_below(&g, 256); /* any byte, NUL too */
				continue;
			}
			const char *a = alphabet[lms_rng_below(&g, sizeof alphabet / sizeof *alphabet)];
			size_t al = strlen(a);
			memcpy(text + len, a, al);
			len += al;
		}
		int *ids;
		size_t n, *off, back_len;
		char *back;
		ck_assert_int_eq(lms_tokenizer_encode(tok, text, len, &ids, &n, &off, NULL), LMS_OK);
		for (size_t i = 0; i < n; i++) {
			ck_assert(ids[i] >= 0 && ids[i] < 32000);
			ck_assert(off[i] <= off[i + 1]);
		}
		ck_assert_int_eq(lms_tokenizer_decode(tok, ids, n, &back, &back_len), LMS_OK);
		ck_assert_uint_eq(back_len, len);
		ck_assert(memcmp(back, text, len) == 0);
		free(ids);
		free(off);
		free(back);
	}
	lms_tokenizer_free(tok);
}
END_TEST

Suite *lms_test_suite(void)
{
	Suite *s = suite_create("llama");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
		{"rmsnorm", test_rmsnorm},
		{"rope", test_rope},
		{"swiglu", test_swiglu},
		{"tensors", test_tensors},
		{"forward_reference", test_forward_reference},
		{"prefix_reuse", test_prefix_reuse},
		{"earlier_position", test_earlier_position},
		{"gradcheck_xent", test_gradcheck_xent},
		{"gradcheck_logprob", test_gradcheck_logprob},
		{"gradcheck_double", test_gradcheck_double},
		{"qk_norm", test_qk_norm},
		{"llama2c_load", test_llama2c_load},
		{"llama2c_bad", test_llama2c_bad},
		{"tokenizer", test_tokenizer},
		{"tokenizer_roundtrip", test_tokenizer_roundtrip},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		if (cases[i].fn == test_tokenizer_roundtrip &&
		    !tu_external("llama tokenizer_roundtrip", LLAMA2_TOK))
			continue;
		TCase *tc = tcase_create(cases[i].name);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}
