/* Direct logit attribution (lmscope/interp.h): the final residual stream at
 * one position split into what each component wrote into it, each part
 * mapped through the final norm with the norm's scale frozen at its value
 * for the whole stream.
 *
 * With x = sum_k t_k, the final LayerNorm gives
 *   y = (x - mean(x)) s g + b,   s = 1 / sqrt(var(x) + eps),
 * and since centring is linear, (x - mean(x)) = sum_k (t_k - mean(t_k)). So
 *   y . w = sum_k (t_k - mean(t_k)) . u + b . w,   u = s g * w
 * with w = w_target - w_contrast, and each term is a dot product with the
 * fixed vector u: t . u - mean(t) sum(u). RMSNorm: no centring, no bias,
 * s = 1 / sqrt(mean(x^2) + eps). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "lmscope/interp.h"

/* The mapping of one term t (C) to logit units: t . u - mean(t) usum. */
struct probe {
	double *u;   /* (C) */
	double usum; /* sum of u when the norm centres, else 0 */
	int C;
};

static double probe_of(const struct probe *p, const float *t)
{
	double dot = 0.0, sum = 0.0;
	for (int j = 0; j < p->C; j++) {
		dot += t[j] * p->u[j];
		sum += t[j];
	}
	return dot - sum / p->C * p->usum;
}

/* A float32 tensor by its name (norms, biases and GPT-2's Conv1D
 * weights are float32 in every model; see model.h's wm). */
static const float *param(const struct lms_model *m, const char *name)
{
	const struct lms_tensor *t = lms_model_tensor(m, name);
	if (!t || m->wm[t - m->tensors].type != LMS_W_F32)
		return NULL;
	return m->wm[t - m->tensors].data;
}

/* u = s g w, from the final stream x (C). */
static void make_probe(struct probe *p, const struct lms_model *m, const float *x, const float *g,
                       int layernorm, const float *w)
{
	int C = m->cfg.C;
	double mean = 0.0, sq = 0.0;
	for (int j = 0; j < C; j++)
		mean += x[j];
	mean /= C;
	for (int j = 0; j < C; j++) {
		double d = layernorm ? x[j] - mean : x[j];
		sq += d * d;
	}
	double s = 1.0 / sqrt(sq / C + m->cfg.eps);
	p->C = C;
	p->usum = 0.0;
	for (int j = 0; j < C; j++) {
		p->u[j] = s * g[j] * w[j];
		p->usum += layernorm ? p->u[j] : 0.0;
	}
}

/* Head h's output through its slice of layer l's output projection: out (C).
 * ym (C) is scratch. */
static void head_write(float *out, const struct lms_model *m, int l, int h, const float *y,
                       float *ym)
{
	const struct lms_config *c = &m->cfg;
	int C = c->C, hs = C / c->NH;
	char name[96];
	memset(out, 0, (size_t)C * sizeof(float));
	if (c->arch == LMS_GPT2) { /* Conv1D (in, out): out_j = sum_i y_i W[i][j] */
		snprintf(name, sizeof name, "h.%d.attn.c_proj.weight", l);
		const float *W = param(m, name);
		for (int i = h * hs; i < (h + 1) * hs; i++)
			for (int j = 0; j < C; j++)
				out[j] += y[i] * W[(size_t)i * C + j];
		return;
	}
	/* nn.Linear (out, in), as stored: out_j = sum_i W[j][i] y_i over the
	 * head's columns, as W times y with the other heads' entries zero */
	snprintf(name, sizeof name, "model.layers.%d.self_attn.o_proj.weight", l);
	const struct lms_tensor *t = lms_model_tensor(m, name);
	memset(ym, 0, (size_t)C * sizeof(float));
	memcpy(ym + h * hs, y + h * hs, (size_t)hs * sizeof(float));
	lms_wmat_forward(out, C, ym, C, &m->wm[t - m->tensors], NULL, 1);
}

static enum lms_status alloc_dla(struct lms_dla *d, const struct lms_config *c)
{
	d->L = c->L;
	d->NH = c->NH;
	d->heads = calloc((size_t)c->L * c->NH, sizeof(double));
	d->attn_bias = calloc((size_t)c->L, sizeof(double));
	d->mlp = calloc((size_t)c->L, sizeof(double));
	if (!d->heads || !d->attn_bias || !d->mlp)
		return lms_fail(LMS_ENOMEM, "out of memory");
	return LMS_OK;
}

/* Every term of every layer, summed into d->sum as it goes. */
static void layers(struct lms_dla *d, const struct lms_run *r, int pos, const struct probe *p,
                   float *tmp, float *ym)
{
	const struct lms_model *m = r->m;
	const struct lms_config *c = &m->cfg;
	const struct lms_arch_ops *ops = lms_arch_ops(c->arch);
	size_t C = c->C;
	for (int l = 0; l < c->L; l++) {
		struct lms_block_acts b;
		ops->block(r, l, 0, &b);
		if (l == 0) {
			d->embed = probe_of(p, b.resid_pre + pos * C);
			d->sum += d->embed;
		}
		for (int h = 0; h < c->NH; h++) {
			head_write(tmp, m, l, h, b.heads + pos * C, ym);
			d->heads[l * c->NH + h] = probe_of(p, tmp);
			d->sum += d->heads[l * c->NH + h];
		}
		char name[64];
		snprintf(name, sizeof name, "h.%d.attn.c_proj.bias", l);
		const float *bias = c->arch == LMS_GPT2 ? param(m, name) : NULL;
		d->attn_bias[l] = bias ? probe_of(p, bias) : 0.0;
		/* the MLP's output is what it added to the stream */
		for (size_t j = 0; j < C; j++)
			tmp[j] = b.resid_post[pos * C + j] - b.resid_mid[pos * C + j];
		d->mlp[l] = probe_of(p, tmp);
		d->sum += d->attn_bias[l] + d->mlp[l];
	}
}

enum lms_status lms_dla_compute(struct lms_run *r, int pos, int target, int contrast,
                                struct lms_dla *out)
{
	const struct lms_model *m = r->m;
	const struct lms_config *c = &m->cfg;
	const struct lms_arch_ops *ops = lms_arch_ops(c->arch);
	memset(out, 0, sizeof *out);
	if (!ops->block)
		return lms_fail(LMS_EUNSUPPORTED,
		                "direct logit attribution needs a Transformer (%s has no heads)",
		                lms_arch_name(c->arch));
	if (pos < 0 || pos >= r->n || target < 0 || target >= c->V || contrast >= c->V)
		return lms_fail(LMS_EARG, "direct logit attribution: position or token out of range");
	int layernorm = c->arch == LMS_GPT2;
	const float *g = param(m, layernorm ? "ln_f.weight" : "model.norm.weight");
	const float *nb = layernorm ? param(m, "ln_f.bias") : NULL;
	int D;
	const float *x = lms_run_hidden(r, c->L - 1, 0, &D);
	struct probe p = {.u = malloc((size_t)c->C * sizeof(double))};
	float *w = malloc((size_t)c->C * sizeof(float)), *tmp = malloc((size_t)c->C * sizeof(float));
	float *ym = malloc((size_t)c->C * sizeof(float));
	enum lms_status st = alloc_dla(out, c);
	if (!st && (!p.u || !w || !tmp || !ym))
		st = lms_fail(LMS_ENOMEM, "out of memory");
	if (!st && (!g || !x))
		st = lms_fail(LMS_EFORMAT, "the model has no final norm to attribute through");
	if (!st) {
		/* the unembedding rows as float (they may be stored as half) */
		lms_model_unembed_row(m, target, w);
		if (contrast >= 0) {
			lms_model_unembed_row(m, contrast, tmp);
			for (int j = 0; j < c->C; j++)
				w[j] -= tmp[j];
		}
		make_probe(&p, m, x + (size_t)pos * c->C, g, layernorm, w);
		layers(out, r, pos, &p, tmp, ym);
		for (int j = 0; nb && j < c->C; j++)
			out->final_bias += (double)nb[j] * w[j];
		out->sum += out->final_bias;
		lms_logits(r, 0, pos, pos + 1);
		const float *xl = r->logits + (size_t)pos * c->V;
		out->logit = (double)xl[target] - (contrast >= 0 ? xl[contrast] : 0.0f);
	}
	free(p.u);
	free(w);
	free(tmp);
	free(ym);
	if (st)
		lms_dla_free(out);
	return st;
}

void lms_dla_free(struct lms_dla *d)
{
	free(d->heads);
	free(d->attn_bias);
	free(d->mlp);
	d->heads = d->attn_bias = d->mlp = NULL;
}
