/* Two models side by side on one token sequence (lmscope/divergence.h): the
 * KL divergence of their logit lenses per layer, the largest difference of
 * their attention per head, and the rank agreement of their saliencies. It
 * lives with the interpretability views because it reads what a forward
 * leaves in a run (hidden states, attention) as they do; the saliency is
 * one lms_attribute call per model, not a method of its own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lmscope/attribution.h"
#include "lmscope/divergence.h"
#include "lmscope/logits.h"

enum lms_status lms_divergence_new(const struct lms_model *a, const struct lms_model *b,
                                   const char *what_b, struct lms_divergence *d)
{
	const struct lms_config *ca = &a->cfg, *cb = &b->cfg;
	memset(d, 0, sizeof *d);
	if (ca->V != cb->V)
		return lms_fail(LMS_EARG, "%s: vocabulary size %d differs from the first model's %d",
		                what_b, cb->V, ca->V);
	if (ca->L != cb->L)
		return lms_fail(LMS_EARG, "%s: layer count %d differs from the first model's %d", what_b,
		                cb->L, ca->L);
	if (ca->NH != cb->NH)
		return lms_fail(LMS_EARG, "%s: head count %d differs from the first model's %d", what_b,
		                cb->NH, ca->NH);
	int maxT = ca->maxT > cb->maxT ? ca->maxT : cb->maxT;
	d->a = a;
	d->b = b;
	d->L = ca->L;
	d->NH = ca->NH;
	d->V = ca->V;
	d->pos = -1;
	d->target = -1;
	d->rho = NAN;
	d->kl = calloc((size_t)d->L, sizeof *d->kl);
	d->attn_maxdiff = d->NH ? calloc((size_t)d->L * d->NH, sizeof *d->attn_maxdiff) : NULL;
	d->work = malloc((2 * (size_t)d->V + 2 * (size_t)maxT) * sizeof *d->work);
	if (!d->kl || (d->NH && !d->attn_maxdiff) || !d->work) {
		lms_divergence_free(d);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	return LMS_OK;
}

void lms_divergence_free(struct lms_divergence *d)
{
	free(d->kl);
	free(d->attn_maxdiff);
	free(d->work);
	memset(d, 0, sizeof *d);
}

/* KL(softmax(x) || softmax(y)) of two logit rows (V), in double. */
static double kl_of_logits(const float *x, const float *y, int V)
{
	double lx = lms_logsumexp(x, V), ly = lms_logsumexp(y, V), kl = 0.0;
	for (int k = 0; k < V; k++) {
		double lpx = x[k] - lx, lpy = y[k] - ly;
		kl += exp(lpx) * (lpx - lpy);
	}
	return kl > 0.0 ? kl : 0.0; /* rounding can leave -1e-17 for equal rows */
}

/* The lens of every layer of both runs at pos, and their KL. */
static void lens_kl(struct lms_divergence *d, struct lms_run *ra, struct lms_run *rb, int pos)
{
	float *la = d->work, *lb = d->work + d->V;
	for (int l = 0; l < d->L; l++) {
		int Da, Db;
		const float *ha = lms_run_hidden(ra, l, 0, &Da), *hb = lms_run_hidden(rb, l, 0, &Db);
		lms_lens(ra, ha + (size_t)pos * Da, la);
		lms_lens(rb, hb + (size_t)pos * Db, lb);
		d->kl[l] = kl_of_logits(la, lb, d->V);
	}
}

/* max |a - b| of one head's attention over q <= pos, k <= q. */
static double head_maxdiff(const float *a, int Ta, const float *b, int Tb, int pos)
{
	double worst = 0.0;
	for (int q = 0; q <= pos; q++)
		for (int k = 0; k <= q; k++) {
			double diff = fabs((double)a[(size_t)q * Ta + k] - b[(size_t)q * Tb + k]);
			worst = diff > worst ? diff : worst;
		}
	return worst;
}

static void attention_diff(struct lms_divergence *d, const struct lms_run *ra,
                           const struct lms_run *rb, int pos)
{
	for (int l = 0; l < d->L; l++)
		for (int h = 0; h < d->NH; h++) {
			const float *a = lms_run_attention(ra, l, h, 0), *b = lms_run_attention(rb, l, h, 0);
			d->attn_maxdiff[(size_t)l * d->NH + h] =
				a && b ? head_maxdiff(a, ra->T, b, rb->T, pos) : NAN;
		}
}

/* Both saliencies of log p(target) and their rank correlation. */
static enum lms_status saliency_rho(struct lms_divergence *d, struct lms_run *ra,
                                    struct lms_run *rb, const int *ids, int n)
{
	float *sa = d->work + 2 * (size_t)d->V, *sb = sa + n;
	struct lms_attr_opts o;
	lms_attr_opts_default(&o);
	o.method = LMS_ATTR_GRAD_NORM;
	o.run = ra;
	enum lms_status st = lms_attribute(d->a, ids, n, d->target, -1, &o, sa, NULL);
	o.run = rb;
	if (!st)
		st = lms_attribute(d->b, ids, n, d->target, -1, &o, sb, NULL);
	if (!st)
		d->rho = n >= 2 ? lms_spearman(sa, sb, n) : NAN;
	return st;
}

static enum lms_status compute(struct lms_divergence *d, struct lms_run *ra, struct lms_run *rb,
                               const int *ids, int pos)
{
	int n = pos + 1;
	enum lms_status st = lms_embed(ra, ids, n);
	if (!st)
		st = lms_embed(rb, ids, n);
	if (st)
		return st;
	lms_forward(ra, 0, n);
	lms_forward(rb, 0, n);
	lens_kl(d, ra, rb, pos);
	if (d->attn_maxdiff)
		attention_diff(d, ra, rb, pos);
	lms_logits(ra, 0, pos, n); /* the target as explain picks it: A's most probable */
	lms_top_k(ra->logits + (size_t)pos * d->V, d->V, 1, &d->target, NULL);
	return saliency_rho(d, ra, rb, ids, n);
}

enum lms_status lms_divergence_compute(struct lms_divergence *d, struct lms_run *ra,
                                       struct lms_run *rb, const int *ids, int pos)
{
	if (pos < 0 || pos >= d->a->cfg.maxT || pos >= d->b->cfg.maxT)
		return lms_fail(LMS_EARG, "divergence: position %d outside both models' context", pos);
	if ((ra && (ra->m != d->a || ra->T <= pos)) || (rb && (rb->m != d->b || rb->T <= pos)))
		return lms_fail(LMS_EARG, "divergence: a work run of the wrong model or too short");
	d->pos = pos;
	d->rho = NAN;
	struct lms_run *own_a = NULL, *own_b = NULL;
	enum lms_status st = LMS_OK;
	if (!ra && !(st = lms_run_new(d->a, 1, pos + 1, &own_a)))
		ra = own_a;
	if (!st && !rb && !(st = lms_run_new(d->b, 1, pos + 1, &own_b)))
		rb = own_b;
	if (!st)
		st = compute(d, ra, rb, ids, pos);
	lms_run_free(own_a);
	lms_run_free(own_b);
	return st;
}
