/* AdamW (Loshchilov & Hutter: decoupled weight decay), the warm-up + cosine
 * schedule, and clipping by global norm. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/optim.h"

enum lms_status lms_adamw_new(struct lms_adamw *o, const struct lms_model *m, float beta1,
                              float beta2, float eps, float weight_decay)
{
	memset(o, 0, sizeof *o);
	o->n = m->n_params;
	o->m = calloc(o->n, sizeof *o->m);
	o->v = calloc(o->n, sizeof *o->v);
	o->decay = calloc(o->n, 1);
	if (!o->m || !o->v || !o->decay) {
		lms_adamw_free(o);
		return lms_fail(LMS_ENOMEM, "cannot allocate optimizer state for %zu parameters",
		                m->n_params);
	}
	for (int i = 0; i < m->n_tensors; i++) {
		const struct lms_tensor *t = &m->tensors[i];
		if (t->ndim >= 2)
			memset(o->decay + t->offset, 1, t->numel);
	}
	o->beta1 = beta1;
	o->beta2 = beta2;
	o->eps = eps;
	o->weight_decay = weight_decay;
	return LMS_OK;
}

void lms_adamw_free(struct lms_adamw *o)
{
	free(o->m);
	free(o->v);
	free(o->decay);
	o->m = o->v = NULL;
	o->decay = NULL;
}

/* One pass over every parameter, written so the compiler vectorises it
 * (restrict pointers, the decay as a select rather than a branch; the
 * Makefile builds this file without errno from sqrtf): the same float
 * operations in the same order as the scalar update, lane by lane. */
void lms_adamw_step(struct lms_adamw *o, float *params, const float *grads, float lr)
{
	o->t++;
	float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
	/* bias corrections of the moment estimates */
	float c1 = 1.0f - (float)pow(b1, (double)o->t);
	float c2 = 1.0f - (float)pow(b2, (double)o->t);
	float wd = o->weight_decay;
	float *restrict p = params, *restrict mo = o->m, *restrict vo = o->v;
	const float *restrict gr = grads;
	const unsigned char *restrict dk = o->decay;
	size_t n = o->n;
	for (size_t i = 0; i < n; i++) {
		float g = gr[i];
		float m = mo[i] = b1 * mo[i] + (1.0f - b1) * g;
		float v = vo[i] = b2 * vo[i] + (1.0f - b2) * g * g;
		float upd = (m / c1) / (sqrtf(v / c2) + eps);
		/* decoupled weight decay on matrices only: wd p, or + 0 p */
		upd += (dk[i] ? wd : 0.0f) * p[i];
		p[i] -= lr * upd;
	}
}

double lms_clip_grad_norm(float *g, size_t n, double max_norm)
{
	/* eight partial sums in double (vectorised lanes), added at the end */
	enum { LANES = 8 };
	double acc[LANES] = {0};
	size_t i = 0;
	for (; i + LANES <= n; i += LANES)
		for (int k = 0; k < LANES; k++)
			acc[k] += (double)g[i + k] * g[i + k];
	double ss = 0.0;
	for (; i < n; i++)
		ss += (double)g[i] * g[i];
	for (int k = 0; k < LANES; k++)
		ss += acc[k];
	double norm = sqrt(ss);
	if (max_norm > 0.0 && isfinite(norm) && norm > max_norm) {
		float s = (float)(max_norm / norm);
		for (i = 0; i < n; i++)
			g[i] *= s;
	}
	return norm;
}

double lms_lr_at(long step, long total, long warmup, double lr, double min_frac)
{
	if (warmup > 0 && step < warmup)
		return lr * (double)(step + 1) / (double)warmup;
	long span = total - warmup - 1;
	if (span <= 0)
		return lr;
	double p = (double)(step - warmup) / (double)span;
	if (p > 1.0)
		p = 1.0;
	double cosine = 0.5 * (1.0 + cos(3.141592653589793 * p));
	return lr * (min_frac + (1.0 - min_frac) * cosine);
}
